// RAII autocast control for LibTorch 1.13, which has no guard of its own (DESIGN.md P5 note).
#pragma once
#include <torch/types.h>

#include "reference/precision/policy.hpp"

namespace amt::precision {

// Enables autocast for the policy's device and dtype when the policy uses autocast; otherwise leaves the
// current state alone. Restores the previous enabled flag and dtype on exit; clears the autocast weight
// cache when leaving the outermost autocast region (as torch.autocast's __exit__ does).
class AutocastGuard {
 public:
  explicit AutocastGuard(const PrecisionPolicy& policy);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool prev_enabled_ = false;
  torch::ScalarType prev_dtype_ = torch::kBFloat16;
};

// Disables autocast (CPU and CUDA) inside an fp32 island; restores it on exit.
class AutocastDisabled {
 public:
  AutocastDisabled();
  ~AutocastDisabled();
  AutocastDisabled(const AutocastDisabled&) = delete;
  AutocastDisabled& operator=(const AutocastDisabled&) = delete;

 private:
  bool prev_cpu_ = false;
  bool prev_cuda_ = false;
};

bool autocast_enabled(torch::Device device);

}  // namespace amt::precision
