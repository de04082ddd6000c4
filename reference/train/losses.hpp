// Training losses (docs/design.md §2; upstream formulas in docs/upstream.md A2.4). Every loss is an fp32
// island (fp64 under the fp64 policy): inputs of any float dtype are taken into the loss dtype by
// precision::to_island, autocast is off, and every reduction is validity-masked (train/masked_mean), so
// frames without a hand, padded object slots and dummy batches contribute exactly zero loss and zero
// gradient. Lengths are in metres, 2-D in px.
#pragma once
#include <torch/types.h>

#include <map>
#include <string>

#include "reference/core/tensor_map.hpp"
#include "reference/precision/policy.hpp"

namespace amt::train {

// Upstream ComprehensiveLoss defaults (docs/upstream.md A2.2), pairwise from SimpleJointLoss (A2.1).
struct LossWeights {
  double hand_coarse = 1.0;
  double hand_refined = 1.2;
  double pairwise = 0.3;
  double reprojection = 0.5;
  double object_position = 1.0;
  double object_rotation = 0.5;
  double contact = 0.3;
  double physics = 0.1;
  double diversity = 0.01;
  double fingertip_importance = 1.5;  // AdaptiveMPJPE: tips 1.5× the others, weights renormalised to mean 1
  double diversity_margin = 0.01;     // metres
  double contact_tau = 0.02;          // metres
};

// Per-joint weights [21] (mean 1): fingertips (4, 8, 12, 16, 20) get `fingertip_importance` before
// renormalising.
torch::Tensor joint_weights(double fingertip_importance, torch::ScalarType dtype);

// Weighted mean joint distance over valid joints. pred, gt [B,21,3]; valid [B,21] or [B] bool.
torch::Tensor hand_mpjpe_loss(const torch::Tensor& pred, const torch::Tensor& gt, const torch::Tensor& valid,
                              double fingertip_importance, const precision::PrecisionPolicy& policy);

// L1 between the 210 pairwise joint distances (i < k) of pred and gt, over valid frames (valid [B] bool).
torch::Tensor pairwise_distance_loss(const torch::Tensor& pred, const torch::Tensor& gt,
                                     const torch::Tensor& valid, const precision::PrecisionPolicy& policy);

// Smooth-L1 (β = 1 px) between pred joints projected with K [B,3,3] and gt_2d [B,21,2] px; valid [B,21] or
// [B]. The projection is the camera-projection island.
torch::Tensor reprojection_loss(const torch::Tensor& pred, const torch::Tensor& gt_2d, const torch::Tensor& K,
                                const torch::Tensor& valid, const precision::PrecisionPolicy& policy);

// Object SE(3): smooth-L1 (β = 1) position error and mean geodesic rotation error (rad) against target
// [B,3,4] or [B,4,4]; pos [B,3], rot6d [B,6]; valid [B] bool.
struct ObjectPoseLoss {
  torch::Tensor position;
  torch::Tensor rotation;
};
ObjectPoseLoss object_pose_loss(const torch::Tensor& pos, const torch::Tensor& rot6d,
                                const torch::Tensor& target, const torch::Tensor& valid,
                                const precision::PrecisionPolicy& policy);

// Contact-aware loss (docs/upstream.md A2.4) with τ = tau: points [B,C,3], confidence [B,C] in (0,1), joints
// [B,21,3], objects [B,O,3]; valid [B] bool.
torch::Tensor contact_loss(const torch::Tensor& points, const torch::Tensor& confidence,
                           const torch::Tensor& joints, const torch::Tensor& objects,
                           const torch::Tensor& valid, double tau, const precision::PrecisionPolicy& policy);

// Physics: joint-angle limit (bending between consecutive bones of a finger beyond 0.8π) and penetration
// (joints closer than 5 mm to an object centre); valid [B] bool.
struct PhysicsLoss {
  torch::Tensor joint_angles;
  torch::Tensor penetration;
};
PhysicsLoss physics_loss(const torch::Tensor& joints, const torch::Tensor& objects,
                         const torch::Tensor& valid, const precision::PrecisionPolicy& policy);

// Diversity: mean over ordered pairs of valid frames b ≠ b' of relu(margin − ‖ĵ_b − ĵ_b'‖); 0 with < 2 valid
// frames.
torch::Tensor diversity_loss(const torch::Tensor& joints, const torch::Tensor& valid, double margin,
                             const precision::PrecisionPolicy& policy);

// Every term, weighted, plus their sum under "total". Reads outputs hand_joints_coarse, hand_joints,
// object_positions [B,Q,3], object_rotations [B,Q,6], contact_points, contact_confidence; batch joint_3d,
// joint_2d, K, has_hand, joint_valid (optional), valid (optional; false masks the whole image), grasped_pose
// [B,3,4] and grasped_object_id (0 = no object). Query 0 of the object decoder predicts the grasped object
// (as upstream). A term whose inputs are absent is skipped (and not reported). The unweighted values are
// reported as "raw/<name>".
struct LossResult {
  std::map<std::string, torch::Tensor> terms;
  torch::Tensor total;
};
LossResult compute_losses(const TensorMap& outputs, const TensorMap& batch, const LossWeights& weights,
                          const precision::PrecisionPolicy& policy);

}  // namespace amt::train
