// One optimisation step of the AMT model: zero the gradients; for each conformed micro-batch forward under
// the policy, compute_losses and backward (the loss divided by the number of micro-batches: gradient
// accumulation); clip the global gradient norm; step the optimizer — unless a loss or a gradient is not
// finite, in which case the step is skipped (the parameters and the optimizer state are untouched) and
// reported. With a LossScaler (precision/loss_scaler.hpp) the loss is scaled before backward and the
// gradients unscaled before the norm; a skipped step backs the scale off. The goldens' 10-step trajectory and
// the trainer use this one function.
#pragma once
#include <torch/optim/optimizer.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "reference/model/amt_model.hpp"
#include "reference/precision/loss_scaler.hpp"
#include "reference/precision/policy.hpp"
#include "reference/train/losses.hpp"

namespace amt::train {

struct StepResult {
  double loss = 0.0;                    // total loss before the step (the mean over the micro-batches)
  std::map<std::string, double> terms;  // every weighted term (the mean over the micro-batches)
  double grad_norm = 0.0;               // global gradient norm before clipping
  bool skipped = false;                 // non-finite loss or gradient: parameters untouched
  double loss_scale = 0.0;              // the scale this step's backward used (0: no loss scaling)
};

// Data-parallel steps: called once per step on every rank, after the backward of the last micro-batch (or,
// when a loss was not finite, instead of it: `local_nonfinite`), before the norm and the clipping; it
// replaces the gradients by their mean over the ranks and returns true when the step must be skipped on
// every rank (trainer/gradient_buckets.hpp). Every rank then clips and steps identically.
using GradientReducer = std::function<bool(bool local_nonfinite)>;

// Every batch must already be conformed (precision::conform_batch). clip_norm <= 0 disables clipping.
// amt::ValueError for an empty list.
StepResult training_step(model::AmtModelImpl& model, torch::optim::Optimizer& optimizer,
                         const std::vector<TensorMap>& micro_batches, const LossWeights& weights,
                         const precision::PrecisionPolicy& policy, double clip_norm,
                         const GradientReducer& reduce_gradients = {},
                         precision::LossScaler* scaler = nullptr);
// One batch (no accumulation).
StepResult training_step(model::AmtModelImpl& model, torch::optim::Optimizer& optimizer,
                         const TensorMap& batch, const LossWeights& weights,
                         const precision::PrecisionPolicy& policy, double clip_norm);

}  // namespace amt::train
