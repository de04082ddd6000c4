// Dynamic loss scaling, with the semantics of PyTorch's torch.amp.GradScaler: fp16 keeps 5 exponent bits, so
// small gradients underflow to zero unless the loss is multiplied by a large scale S before backward. The
// gradients are then divided by S (unscaled) before anything reads them — the global norm, clipping, the
// optimizer. A step whose unscaled gradients are not finite (S was too large: an overflow) is skipped and S
// is multiplied by the back-off factor; after `growth_interval` finite steps in a row S is multiplied by the
// growth factor. The scale is a power of two under the default factors, so scaling and unscaling are exact.
//
// Which policies scale is a precision decision (needs_loss_scaling: the fp16 ones). The trainer keeps the
// scaler's state in its checkpoints, so a resumed run scales as the first did.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "reference/precision/policy.hpp"

namespace amt::precision {

struct LossScalerOptions {
  double init_scale = 65536.0;  // 2^16, GradScaler's default
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;  // finite steps in a row before the scale grows
};

class LossScaler {
 public:
  // amt::ConfigError for a scale that is not a finite positive number, a growth factor <= 1, a back-off
  // factor outside (0, 1) or a growth interval < 1.
  explicit LossScaler(const LossScalerOptions& options = {});

  // loss · S, for backward.
  torch::Tensor scale(const torch::Tensor& loss) const;
  // Divides every defined gradient of `params` by S in place (before the norm, clipping and the step).
  void unscale(const std::vector<torch::Tensor>& params) const;
  // After the step's verdict: found_inf (the step was skipped) backs the scale off and restarts the count;
  // a finite step counts towards growth.
  void update(bool found_inf);

  double scale_value() const { return scale_; }
  int64_t growth_tracker() const { return growth_tracker_; }  // finite steps since the last change
  // A checkpoint's state (amt::ConfigError for a scale that is not finite and positive).
  void restore(double scale, int64_t growth_tracker);

 private:
  LossScalerOptions options_;
  double scale_;
  int64_t growth_tracker_ = 0;
};

// True for the policies whose gradients need loss scaling: fp16-autocast and fp16-pure (bf16 has fp32's
// exponent range).
bool needs_loss_scaling(const PrecisionPolicy& policy);

}  // namespace amt::precision
