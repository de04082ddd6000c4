#include "reference/train/train_step.hpp"

#include <torch/nn/utils/clip_grad.h>
#include <torch/torch.h>

#include <cmath>

#include "reference/core/error.hpp"
#include "reference/precision/plan.hpp"

namespace amt::train {

StepResult training_step(model::AmtModelImpl& model, torch::optim::Optimizer& optimizer,
                         const std::vector<TensorMap>& micro_batches, const LossWeights& weights,
                         const precision::PrecisionPolicy& policy, double clip_norm,
                         const GradientReducer& reduce_gradients, precision::LossScaler* scaler) {
  if (micro_batches.empty()) throw ValueError("training_step: no micro-batch");
  StepResult r;
  if (scaler) r.loss_scale = scaler->scale_value();
  // A skipped step leaves the parameters and the optimizer alone; under loss scaling it backs the scale off.
  const auto skip = [&] {
    r.skipped = true;
    optimizer.zero_grad();
    if (scaler) scaler->update(true);
    return r;
  };
  optimizer.zero_grad();
  const double n = static_cast<double>(micro_batches.size());
  for (const TensorMap& batch : micro_batches) {
    const TensorMap out = model.forward(batch, policy);
    const LossResult loss = compute_losses(out, batch, weights, policy);
    const double total = loss.total.item<double>();
    r.loss += total / n;
    for (const auto& [name, value] : loss.terms) {
      if (name.rfind("raw/", 0) != 0) r.terms[name] += value.item<double>() / n;
    }
    if (!std::isfinite(total)) {
      r.loss = total;
      if (reduce_gradients) reduce_gradients(true);  // the other ranks are waiting for this step's verdict
      return skip();
    }
    // One micro-batch: the loss as it is (bit-identical to a step without accumulation).
    const torch::Tensor part = micro_batches.size() == 1 ? loss.total : loss.total / n;
    (scaler ? scaler->scale(part) : part).backward();
  }
  if (reduce_gradients && reduce_gradients(false)) return skip();
  std::vector<torch::Tensor> params;
  for (const auto& p : model.parameters()) {
    if (p.grad().defined()) params.push_back(p);
  }
  if (scaler) scaler->unscale(params);  // the (reduced) gradients, before anything reads them
  // The global norm, in fp64, whatever the parameter dtype (an optimizer-side island).
  double sq = 0.0;
  for (const auto& p : params) sq += p.grad().to(torch::kDouble).pow(2).sum().item<double>();
  r.grad_norm = std::sqrt(sq);
  if (!std::isfinite(r.grad_norm)) return skip();
  if (clip_norm > 0.0) torch::nn::utils::clip_grad_norm_(params, clip_norm);
  optimizer.step();
  if (scaler) scaler->update(false);
  return r;
}

StepResult training_step(model::AmtModelImpl& model, torch::optim::Optimizer& optimizer,
                         const TensorMap& batch, const LossWeights& weights,
                         const precision::PrecisionPolicy& policy, double clip_norm) {
  return training_step(model, optimizer, std::vector<TensorMap>{batch}, weights, policy, clip_norm);
}

}  // namespace amt::train
