// Validation: the model (eval mode, no gradients, the run's precision policy) over the validation cache in
// the trainer's own data path (loader → collator → model_inputs → conform_batch), with the model's metrics:
// MPJPE and PA-MPJPE of the refined joints, PCK/AUC, 2-D PCK, the coarse joints' MPJPE, the grasped object's
// position error and ADD / ADD-S, the validation loss — and the mean-pose baseline (predicting the training
// set's mean joints for every frame), the yardstick the run is judged against.
#pragma once
#include <torch/types.h>

#include <map>
#include <string>

#include "reference/data/cached_dataset.hpp"
#include "reference/model/amt_model.hpp"
#include "reference/precision/policy.hpp"
#include "reference/train/losses.hpp"

namespace amt::trainer {

// The mean joint positions [21,3] (metres, camera frame, float64) over the frames with a hand.
// amt::ValueError when no frame has a hand.
torch::Tensor mean_pose(const data::CachedDataset& train);

struct ValidationOptions {
  int64_t batch_size = 8;
  int64_t patch = 14, shuffle = 1;
  train::LossWeights loss;
};

// Keys: val_mpjpe_mm, val_rr_mpjpe_mm (root-relative), val_root_error_mm, val_pa_mpjpe_mm,
// val_pa_mpjpe_scaled_mm, val_pck3d_{20,30,40,50}mm, val_auc_20_50mm, val_pck2d_5px, val_coarse_mpjpe_mm,
// val_loss, val_object_position_mm, val_object_rotation_deg, val_add_mm, val_adds_mm, val_frames,
// baseline_mpjpe_mm, baseline_pa_mpjpe_mm, baseline_rr_mpjpe_mm. ADD / ADD-S use the 8 corners of a 10 cm
// cube as the model points (the reader does not load YCB meshes; the number compares runs, not papers).
std::map<std::string, double> validate(model::AmtModelImpl& model, const data::CachedDataset& val,
                                       const torch::Tensor& mean_joints,
                                       const precision::PrecisionPolicy& policy,
                                       const ValidationOptions& options);

}  // namespace amt::trainer
