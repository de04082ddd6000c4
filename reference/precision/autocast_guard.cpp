#include "reference/precision/autocast_guard.hpp"

#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>

#include "reference/core/error.hpp"

namespace amt::precision {
namespace {

// Leaving the outermost autocast region drops the cached low-precision copies of the weights, which would
// otherwise go stale after the optimizer updates the fp32 masters.
void leave_autocast_nesting() {
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

}  // namespace

AutocastGuard::AutocastGuard(const PrecisionPolicy& policy) {
  if (!policy.uses_autocast()) return;
  active_ = true;
  device_type_ = policy.device().type();
  prev_enabled_ = at::autocast::is_autocast_enabled(device_type_);
  prev_dtype_ = at::autocast::get_autocast_dtype(device_type_);
  at::autocast::set_autocast_dtype(device_type_, policy.compute_dtype());
  at::autocast::set_autocast_enabled(device_type_, true);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  leave_autocast_nesting();
  at::autocast::set_autocast_enabled(device_type_, prev_enabled_);
  at::autocast::set_autocast_dtype(device_type_, prev_dtype_);
}

WeightCastCache::WeightCastCache(const PrecisionPolicy& policy) {
  if (!policy.uses_autocast()) return;
  if (c10::GradMode::is_enabled()) {
    throw UnsupportedError("WeightCastCache under " + policy.name() +
                           ": grad mode is on, so the weights may change while their casts are kept; open it "
                           "inside a no-grad region");
  }
  // A nesting level of its own: the forwards' AutocastGuards no longer end the outermost region, so
  // LibTorch's cast cache (keyed by the fp32 weight, held by weak reference) outlives each forward.
  at::autocast::increment_nesting();
  active_ = true;
}

WeightCastCache::~WeightCastCache() {
  if (active_) leave_autocast_nesting();
}

AutocastDisabled::AutocastDisabled()
    : prev_cpu_(at::autocast::is_autocast_enabled(c10::DeviceType::CPU)),
      prev_cuda_(at::autocast::is_autocast_enabled(c10::DeviceType::CUDA)) {
  at::autocast::set_autocast_enabled(c10::DeviceType::CPU, false);
  at::autocast::set_autocast_enabled(c10::DeviceType::CUDA, false);
}

AutocastDisabled::~AutocastDisabled() {
  at::autocast::set_autocast_enabled(c10::DeviceType::CPU, prev_cpu_);
  at::autocast::set_autocast_enabled(c10::DeviceType::CUDA, prev_cuda_);
}

bool autocast_enabled(torch::Device device) {
  return at::autocast::is_autocast_enabled(device.type());
}

}  // namespace amt::precision
