#include "reference/precision/loss_scaler.hpp"

#include <torch/torch.h>

#include <cmath>
#include <string>

#include "reference/core/error.hpp"

namespace amt::precision {

namespace {
void check_scale(double scale, const char* what) {
  if (!std::isfinite(scale) || scale <= 0.0)
    throw ConfigError(std::string(what) + " must be a finite positive number, got " + std::to_string(scale));
}
}  // namespace

LossScaler::LossScaler(const LossScalerOptions& options) : options_(options), scale_(options.init_scale) {
  check_scale(options.init_scale, "loss scaling: the initial scale");
  if (!(options.growth_factor > 1.0))
    throw ConfigError("loss scaling: the growth factor must be > 1, got " +
                      std::to_string(options.growth_factor));
  if (!(options.backoff_factor > 0.0 && options.backoff_factor < 1.0))
    throw ConfigError("loss scaling: the back-off factor must be in (0, 1), got " +
                      std::to_string(options.backoff_factor));
  if (options.growth_interval < 1)
    throw ConfigError("loss scaling: the growth interval must be >= 1, got " +
                      std::to_string(options.growth_interval));
}

torch::Tensor LossScaler::scale(const torch::Tensor& loss) const {
  return loss * scale_;
}

void LossScaler::unscale(const std::vector<torch::Tensor>& params) const {
  torch::NoGradGuard no_grad;
  const double inverse = 1.0 / scale_;
  for (const torch::Tensor& p : params) {
    if (p.grad().defined()) p.mutable_grad().mul_(inverse);
  }
}

void LossScaler::update(bool found_inf) {
  if (found_inf) {
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
    return;
  }
  if (++growth_tracker_ >= options_.growth_interval) {
    scale_ *= options_.growth_factor;
    growth_tracker_ = 0;
  }
}

void LossScaler::restore(double scale, int64_t growth_tracker) {
  check_scale(scale, "loss scaling: the checkpoint's scale");
  scale_ = scale;
  growth_tracker_ = growth_tracker;
}

bool needs_loss_scaling(const PrecisionPolicy& policy) {
  return policy.kind() == PolicyKind::kFp16Autocast || policy.kind() == PolicyKind::kFp16Pure;
}

}  // namespace amt::precision
