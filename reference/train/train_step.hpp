// One optimisation step of the AMT model on one conformed batch: zero the gradients, forward under the
// policy, compute_losses, backward, clip the global gradient norm, and step the optimizer — unless the loss
// or a gradient is not finite, in which case the step is skipped (nothing changes) and reported. The goldens'
// 10-step trajectory and the trainer use this one function.
#pragma once
#include <torch/optim/optimizer.h>

#include <map>
#include <string>

#include "reference/model/amt_model.hpp"
#include "reference/precision/policy.hpp"
#include "reference/train/losses.hpp"

namespace amt::train {

struct StepResult {
  double loss = 0.0;                    // total loss before the step
  std::map<std::string, double> terms;  // every weighted term
  double grad_norm = 0.0;               // global gradient norm before clipping
  bool skipped = false;                 // non-finite loss or gradient: parameters untouched
};

// `batch` must already be conformed (precision::conform_batch). clip_norm <= 0 disables clipping.
StepResult training_step(model::AmtModelImpl& model, torch::optim::Optimizer& optimizer,
                         const TensorMap& batch, const LossWeights& weights,
                         const precision::PrecisionPolicy& policy, double clip_norm);

}  // namespace amt::train
