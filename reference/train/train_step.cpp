#include "reference/train/train_step.hpp"

#include <torch/nn/utils/clip_grad.h>
#include <torch/torch.h>

#include <cmath>

namespace amt::train {

StepResult training_step(model::AmtModelImpl& model, torch::optim::Optimizer& optimizer,
                         const TensorMap& batch, const LossWeights& weights,
                         const precision::PrecisionPolicy& policy, double clip_norm) {
  StepResult r;
  optimizer.zero_grad();
  const TensorMap out = model.forward(batch, policy);
  const LossResult loss = compute_losses(out, batch, weights, policy);
  r.loss = loss.total.item<double>();
  for (const auto& [name, value] : loss.terms) {
    if (name.rfind("raw/", 0) != 0) r.terms[name] = value.item<double>();
  }
  if (!std::isfinite(r.loss)) {
    r.skipped = true;
    optimizer.zero_grad();
    return r;
  }
  loss.total.backward();
  std::vector<torch::Tensor> params;
  for (const auto& p : model.parameters()) {
    if (p.grad().defined()) params.push_back(p);
  }
  // The global norm, in fp64, whatever the parameter dtype (an optimizer-side island).
  double sq = 0.0;
  for (const auto& p : params) sq += p.grad().to(torch::kDouble).pow(2).sum().item<double>();
  r.grad_norm = std::sqrt(sq);
  if (!std::isfinite(r.grad_norm)) {
    r.skipped = true;
    optimizer.zero_grad();
    return r;
  }
  if (clip_norm > 0.0) torch::nn::utils::clip_grad_norm_(params, clip_norm);
  optimizer.step();
  return r;
}

}  // namespace amt::train
