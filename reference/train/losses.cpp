#include "reference/train/losses.hpp"

#include <torch/torch.h>

#include <cmath>

#include "reference/core/error.hpp"
#include "reference/precision/islands.hpp"
#include "reference/train/masked_mean.hpp"
#include "reference/train/rotation.hpp"

namespace amt::train {

namespace {
using precision::Island;
using precision::PrecisionPolicy;

torch::Tensor in_loss(const torch::Tensor& x, const PrecisionPolicy& policy) {
  return precision::to_island(x, Island::kLoss, policy);
}

void require(bool ok, const std::string& what) {
  if (!ok) throw ShapeError(what);
}

// A [B] or [B,J] bool mask broadcast against per-joint values [B,J].
torch::Tensor joint_mask(const torch::Tensor& valid, int64_t joints) {
  require(valid.scalar_type() == torch::kBool, "loss: validity mask must be bool");
  if (valid.dim() == 1) return valid.unsqueeze(1).expand({valid.size(0), joints});
  return valid;
}

// Bones as (parent, child) along each finger's kinematic chain: wrist 0, thumb 1-4, index 5-8, middle 9-12,
// ring 13-16, little 17-20.
int64_t parent_of(int64_t j) {
  return (j - 1) % 4 == 0 ? 0 : j - 1;
}
}  // namespace

torch::Tensor joint_weights(double fingertip_importance, torch::ScalarType dtype) {
  torch::Tensor w = torch::ones({21}, torch::TensorOptions().dtype(dtype));
  for (int64_t tip : {4, 8, 12, 16, 20}) w[tip] = fingertip_importance;
  return w / w.mean();
}

torch::Tensor hand_mpjpe_loss(const torch::Tensor& pred, const torch::Tensor& gt, const torch::Tensor& valid,
                              double fingertip_importance, const PrecisionPolicy& policy) {
  require(pred.dim() == 3 && pred.size(1) == 21 && pred.size(2) == 3 && gt.sizes() == pred.sizes(),
          "hand_mpjpe_loss: pred and gt must be [B,21,3]");
  precision::IslandScope scope;
  const torch::Tensor p = in_loss(pred, policy), g = in_loss(gt, policy);
  const torch::Tensor mask = joint_mask(valid.to(p.device()), 21);
  // The norm's gradient is NaN at exactly zero distance; masked entries must not even see such a value.
  const torch::Tensor d = torch::where(mask.unsqueeze(-1), p - g, torch::ones_like(p)).norm(2, -1);
  return masked_mean(d * joint_weights(fingertip_importance, p.scalar_type()).to(p.device()), mask);
}

torch::Tensor pairwise_distance_loss(const torch::Tensor& pred, const torch::Tensor& gt,
                                     const torch::Tensor& valid, const PrecisionPolicy& policy) {
  require(pred.dim() == 3 && gt.sizes() == pred.sizes(),
          "pairwise_distance_loss: pred and gt must be [B,J,3]");
  precision::IslandScope scope;
  const torch::Tensor p = in_loss(pred, policy), g = in_loss(gt, policy);
  const int64_t J = p.size(1);
  const torch::Tensor iu =
      torch::triu_indices(J, J, 1, torch::TensorOptions().dtype(torch::kLong).device(p.device()));
  auto pair_distances = [&](const torch::Tensor& x) {
    const torch::Tensor diff = x.index_select(1, iu[0]) - x.index_select(1, iu[1]);
    return (diff.pow(2).sum(-1) + 1e-12).sqrt();  // eps: finite gradient for coincident joints
  };
  const torch::Tensor err = (pair_distances(p) - pair_distances(g)).abs();
  return masked_mean(err, valid.to(p.device()).unsqueeze(1));
}

torch::Tensor reprojection_loss(const torch::Tensor& pred, const torch::Tensor& gt_2d, const torch::Tensor& K,
                                const torch::Tensor& valid, const PrecisionPolicy& policy) {
  require(pred.dim() == 3 && gt_2d.dim() == 3 && gt_2d.size(-1) == 2 && gt_2d.size(1) == pred.size(1),
          "reprojection_loss: pred [B,J,3] and gt_2d [B,J,2]");
  const auto projection = precision::project_points(pred, K, torch::Tensor(), policy);
  precision::IslandScope scope;
  const torch::Tensor uv = in_loss(projection.uv, policy), target = in_loss(gt_2d, policy);
  const torch::Tensor mask = joint_mask(valid.to(uv.device()), pred.size(1));
  const torch::Tensor safe_uv = torch::where(mask.unsqueeze(-1), uv, target);  // huge uv behind the camera
  const torch::Tensor err = torch::nn::functional::smooth_l1_loss(
      safe_uv, target, torch::nn::functional::SmoothL1LossFuncOptions().reduction(torch::kNone));
  return masked_mean(err, mask.unsqueeze(-1));
}

ObjectPoseLoss object_pose_loss(const torch::Tensor& pos, const torch::Tensor& rot6d,
                                const torch::Tensor& target, const torch::Tensor& valid,
                                const PrecisionPolicy& policy) {
  require(pos.dim() == 2 && pos.size(1) == 3 && rot6d.dim() == 2 && rot6d.size(1) == 6,
          "object_pose_loss: pos [B,3], rot6d [B,6]");
  require(target.dim() == 3 && target.size(2) == 4 && (target.size(1) == 3 || target.size(1) == 4),
          "object_pose_loss: target must be [B,3,4] or [B,4,4]");
  precision::IslandScope scope;
  const torch::Tensor p = in_loss(pos, policy), T = in_loss(target, policy);
  const torch::Tensor R = rotation_6d_to_matrix(in_loss(rot6d, policy));
  const torch::Tensor mask = valid.to(p.device());
  const torch::Tensor t = T.narrow(1, 0, 3).select(2, 3);
  const torch::Tensor R_gt = T.narrow(1, 0, 3).narrow(2, 0, 3);
  const torch::Tensor pos_err = torch::nn::functional::smooth_l1_loss(
      p, t, torch::nn::functional::SmoothL1LossFuncOptions().reduction(torch::kNone));
  // Masked frames are given the target rotation so acos never sees their (possibly degenerate) values.
  const torch::Tensor R_safe = torch::where(mask.view({-1, 1, 1}), R, R_gt.detach());
  return {masked_mean(pos_err, mask.unsqueeze(1)), masked_mean(geodesic_angle(R_safe, R_gt), mask)};
}

torch::Tensor contact_loss(const torch::Tensor& points, const torch::Tensor& confidence,
                           const torch::Tensor& joints, const torch::Tensor& objects,
                           const torch::Tensor& valid, double tau, const PrecisionPolicy& policy) {
  require(points.dim() == 3 && confidence.dim() == 2 && joints.dim() == 3 && objects.dim() == 3,
          "contact_loss: points [B,C,3], confidence [B,C], joints [B,J,3], objects [B,O,3]");
  precision::IslandScope scope;
  const torch::Tensor x = in_loss(points, policy), c = in_loss(confidence, policy);
  const torch::Tensor d_h = std::get<0>(torch::cdist(x, in_loss(joints, policy)).min(-1));
  const torch::Tensor d_o = std::get<0>(torch::cdist(x, in_loss(objects, policy)).min(-1));
  const torch::Tensor per_point = c * (d_h + d_o) + c * torch::relu(torch::max(d_h, d_o) - tau) +
                                  (1.0 - c) * torch::exp(-torch::min(d_h, d_o) / tau);
  return masked_mean(per_point, valid.to(x.device()).unsqueeze(1));
}

PhysicsLoss physics_loss(const torch::Tensor& joints, const torch::Tensor& objects,
                         const torch::Tensor& valid, const PrecisionPolicy& policy) {
  require(joints.dim() == 3 && joints.size(1) == 21 && objects.dim() == 3, "physics_loss: joints [B,21,3]");
  precision::IslandScope scope;
  const torch::Tensor j = in_loss(joints, policy);
  const auto idx = torch::TensorOptions().dtype(torch::kLong).device(j.device());
  // Consecutive bone pairs inside each finger: (parent→j, j→child) for the MCP, PIP and DIP joints.
  std::vector<int64_t> a, b, c;
  for (int64_t finger = 0; finger < 5; ++finger) {
    for (int64_t k = 1; k <= 3; ++k) {
      const int64_t mid = 1 + 4 * finger + (k - 1);
      a.push_back(parent_of(mid)), b.push_back(mid), c.push_back(mid + 1);
    }
  }
  namespace F = torch::nn::functional;
  const auto unit = F::NormalizeFuncOptions().dim(-1).eps(1e-8);
  const torch::Tensor v1 =
      F::normalize(j.index_select(1, torch::tensor(b, idx)) - j.index_select(1, torch::tensor(a, idx)), unit);
  const torch::Tensor v2 =
      F::normalize(j.index_select(1, torch::tensor(c, idx)) - j.index_select(1, torch::tensor(b, idx)), unit);
  const torch::Tensor angle = torch::acos((v1 * v2).sum(-1).clamp(-1.0 + 1e-7, 1.0 - 1e-7));
  const torch::Tensor mask = valid.to(j.device()).unsqueeze(1);
  const torch::Tensor angles = masked_mean(torch::relu(angle - 0.8 * M_PI), mask);
  const torch::Tensor nearest = std::get<0>(torch::cdist(j, in_loss(objects, policy)).min(-1));
  return {angles, masked_mean(torch::relu(0.005 - nearest), mask)};
}

torch::Tensor diversity_loss(const torch::Tensor& joints, const torch::Tensor& valid, double margin,
                             const PrecisionPolicy& policy) {
  precision::IslandScope scope;
  const torch::Tensor j = in_loss(joints, policy).flatten(1);
  const int64_t B = j.size(0);
  const torch::Tensor v = valid.to(j.device());
  const torch::Tensor pair_valid =
      v.unsqueeze(0) & v.unsqueeze(1) &
      ~torch::eye(B, torch::TensorOptions().dtype(torch::kBool).device(j.device()));
  const torch::Tensor diff = j.unsqueeze(0) - j.unsqueeze(1);
  const torch::Tensor dist = (diff.pow(2).sum(-1) + 1e-12).sqrt();
  return masked_mean(torch::relu(margin - dist), pair_valid);
}

LossResult compute_losses(const TensorMap& outputs, const TensorMap& batch, const LossWeights& w,
                          const PrecisionPolicy& policy) {
  auto has = [](const TensorMap& m, const char* k) { return m.count(k) != 0 && m.at(k).defined(); };
  LossResult result;
  auto add = [&](const std::string& name, const torch::Tensor& raw, double weight) {
    result.terms["raw/" + name] = raw.detach();
    result.terms[name] = raw * weight;
  };
  if (!has(batch, "has_hand")) throw ValueError("compute_losses: batch has no 'has_hand' mask");
  // `valid` (false only for a dummy image, V7) masks every term of that image, hand and object alike.
  const torch::Tensor image_valid = has(batch, "valid") ? batch.at("valid") : torch::Tensor();
  const torch::Tensor has_hand =
      image_valid.defined() ? batch.at("has_hand") & image_valid : batch.at("has_hand");
  const torch::Tensor hand_valid =
      has(batch, "joint_valid") ? (batch.at("joint_valid") & has_hand.unsqueeze(1)) : has_hand;
  if (has(batch, "joint_3d")) {
    const torch::Tensor& gt = batch.at("joint_3d");
    if (has(outputs, "hand_joints_coarse")) {
      add("hand_coarse",
          hand_mpjpe_loss(outputs.at("hand_joints_coarse"), gt, hand_valid, w.fingertip_importance, policy),
          w.hand_coarse);
    }
    if (has(outputs, "hand_joints")) {
      add("hand_refined",
          hand_mpjpe_loss(outputs.at("hand_joints"), gt, hand_valid, w.fingertip_importance, policy),
          w.hand_refined);
      add("pairwise", pairwise_distance_loss(outputs.at("hand_joints"), gt, has_hand, policy), w.pairwise);
    }
  }
  if (has(outputs, "hand_joints") && has(batch, "joint_2d") && has(batch, "K")) {
    add("reprojection",
        reprojection_loss(outputs.at("hand_joints"), batch.at("joint_2d"), batch.at("K"), hand_valid, policy),
        w.reprojection);
  }
  if (has(outputs, "object_positions") && has(outputs, "object_rotations") && has(batch, "grasped_pose") &&
      has(batch, "grasped_object_id")) {
    const torch::Tensor object_valid = image_valid.defined()
                                           ? (batch.at("grasped_object_id") > 0) & image_valid
                                           : batch.at("grasped_object_id") > 0;
    const auto pose = object_pose_loss(outputs.at("object_positions").select(1, 0),
                                       outputs.at("object_rotations").select(1, 0), batch.at("grasped_pose"),
                                       object_valid, policy);
    add("object_position", pose.position, w.object_position);
    add("object_rotation", pose.rotation, w.object_rotation);
  }
  if (has(outputs, "hand_joints") && has(outputs, "object_positions")) {
    const torch::Tensor& joints = outputs.at("hand_joints");
    const torch::Tensor& objects = outputs.at("object_positions");
    if (has(outputs, "contact_points") && has(outputs, "contact_confidence")) {
      add("contact",
          contact_loss(outputs.at("contact_points"), outputs.at("contact_confidence"), joints, objects,
                       has_hand, w.contact_tau, policy),
          w.contact);
    }
    const auto physics = physics_loss(joints, objects, has_hand, policy);
    add("physics_joint_angles", physics.joint_angles, w.physics);
    add("physics_penetration", physics.penetration, w.physics);
    add("diversity", diversity_loss(joints, has_hand, w.diversity_margin, policy), w.diversity);
  }
  torch::Tensor total;
  for (const auto& [name, value] : result.terms) {
    if (name.rfind("raw/", 0) == 0) continue;
    total = total.defined() ? total + value : value;
  }
  if (!total.defined()) throw ValueError("compute_losses: no loss term could be computed from this batch");
  result.total = total;
  return result;
}

}  // namespace amt::train
