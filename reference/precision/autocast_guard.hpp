// RAII autocast control over LibTorch's per-device autocast state (C++ has no torch.autocast context).
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
  c10::DeviceType device_type_ = c10::DeviceType::CPU;
  bool prev_enabled_ = false;
  torch::ScalarType prev_dtype_ = torch::kBFloat16;
};

// Keeps autocast's low-precision copies of the fp32 weights across forwards, for a loop of inference
// forwards over frozen weights (the trainer's validation, the backbone benchmark). Each forward is its own
// autocast region (AutocastGuard), and LibTorch drops the cached casts when the outermost region ends, so
// without this scope every forward casts every weight again: for S/14, 21 M parameters read in fp32 and
// written in bf16 per forward. Inside the scope the forwards' regions are nested in it and each weight is
// cast once, as in eager PyTorch under one `with torch.autocast(...)` around the loop. A weight changed in
// place inside the scope would keep its stale copy, so the scope refuses to open while grad mode is on
// (UnsupportedError). Policies that do not use autocast make it a no-op.
class WeightCastCache {
 public:
  explicit WeightCastCache(const PrecisionPolicy& policy);
  ~WeightCastCache();
  WeightCastCache(const WeightCastCache&) = delete;
  WeightCastCache& operator=(const WeightCastCache&) = delete;

 private:
  bool active_ = false;
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
