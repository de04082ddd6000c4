#include "trainer/validation.hpp"

#include <torch/torch.h>

#include <cmath>

#include "reference/core/error.hpp"
#include "reference/core/tensor_map.hpp"
#include "reference/data/loader.hpp"
#include "reference/precision/autocast_guard.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/train/metrics.hpp"
#include "reference/train/rotation.hpp"

namespace amt::trainer {
namespace {

torch::Tensor cube_corners() {
  std::vector<double> v;
  for (int i = 0; i < 8; ++i) {
    v.push_back((i & 1) ? 0.05 : -0.05);
    v.push_back((i & 2) ? 0.05 : -0.05);
    v.push_back((i & 4) ? 0.05 : -0.05);
  }
  return torch::tensor(v, torch::kFloat64).view({8, 3});
}

}  // namespace

torch::Tensor mean_pose(const data::CachedDataset& train) {
  const torch::Tensor hand = train.fields().at("has_hand");
  const torch::Tensor joints = train.fields().at("joint_3d").to(torch::kFloat64);
  const int64_t n = hand.sum().item<int64_t>();
  if (n == 0) throw ValueError("mean pose: no training frame has a hand");
  return joints.index({hand}).mean(0);
}

std::map<std::string, double> validate(model::AmtModelImpl& model, const data::CachedDataset& val,
                                       const torch::Tensor& mean_joints,
                                       const precision::PrecisionPolicy& policy, const ValidationOptions& o) {
  torch::NoGradGuard no_grad;
  // The weights are frozen for the whole pass: under bf16-autocast each is cast once, not once per batch.
  const precision::WeightCastCache weight_casts(policy);
  const bool was_training = model.is_training();
  model.eval();
  data::LoaderOptions lo;
  lo.batch_size = o.batch_size;
  lo.shuffle = false;
  data::Loader loader(val, lo, o.patch, o.shuffle);
  loader.start_epoch(0);
  train::HandMetricAccumulator refined, coarse, baseline;
  double loss_sum = 0.0, pos_sum = 0.0, rot_sum = 0.0, add_sum = 0.0, adds_sum = 0.0;
  int64_t loss_batches = 0, objects = 0;
  const torch::Tensor corners = cube_corners();
  while (auto b = loader.next()) {
    const TensorMap batch = precision::conform_batch(vision::model_inputs(*b), policy);
    const TensorMap out = model.forward(batch, policy);
    const torch::Tensor gt = batch.at("joint_3d");
    const torch::Tensor hand = batch.at("has_hand");
    const torch::Tensor K = batch.at("K");
    refined.add(out.at("hand_joints"), gt, hand, K);
    coarse.add(out.at("hand_joints_coarse"), gt, hand, K);
    baseline.add(mean_joints.to(gt.scalar_type()).unsqueeze(0).expand_as(gt), gt, hand, K);
    const train::LossResult loss = train::compute_losses(out, batch, o.loss, policy);
    loss_sum += loss.total.item<double>();
    ++loss_batches;
    // The grasped object: query 0 against grasped_pose, for frames that have one.
    const torch::Tensor has_object = batch.at("grasped_object_id").gt(0);
    if (has_object.any().item<bool>()) {
      const torch::Tensor pose = batch.at("grasped_pose").to(torch::kFloat64).index({has_object});
      const torch::Tensor t_gt = pose.index({torch::indexing::Slice(), torch::indexing::Slice(0, 3), 3});
      const torch::Tensor R_gt =
          pose.index({torch::indexing::Slice(), torch::indexing::Slice(0, 3), torch::indexing::Slice(0, 3)});
      const torch::Tensor t = out.at("object_positions").select(1, 0).to(torch::kFloat64).index({has_object});
      const torch::Tensor R = train::rotation_6d_to_matrix(
          out.at("object_rotations").select(1, 0).to(torch::kFloat64).index({has_object}));
      pos_sum += (t - t_gt).norm(2, -1).sum().item<double>() * 1000.0;
      rot_sum += train::geodesic_angle(R, R_gt).sum().item<double>() * 180.0 / M_PI;
      add_sum += train::add_mm(R, t, R_gt, t_gt, corners).sum().item<double>();
      adds_sum += train::add_s_mm(R, t, R_gt, t_gt, corners).sum().item<double>();
      objects += has_object.sum().item<int64_t>();
    }
  }
  if (was_training) model.train();
  std::map<std::string, double> m;
  for (const auto& [k, v] : refined.result()) m["val_" + k] = v;
  const auto c = coarse.result();
  const auto base = baseline.result();
  const double nan = std::nan("");
  m["val_coarse_mpjpe_mm"] = c.count("mpjpe_mm") ? c.at("mpjpe_mm") : nan;
  m["baseline_mpjpe_mm"] = base.count("mpjpe_mm") ? base.at("mpjpe_mm") : nan;
  m["baseline_pa_mpjpe_mm"] = base.count("pa_mpjpe_mm") ? base.at("pa_mpjpe_mm") : nan;
  m["baseline_rr_mpjpe_mm"] = base.count("rr_mpjpe_mm") ? base.at("rr_mpjpe_mm") : nan;
  m["val_loss"] = loss_batches ? loss_sum / static_cast<double>(loss_batches) : nan;
  const double no = static_cast<double>(objects);
  m["val_object_position_mm"] = objects ? pos_sum / no : nan;
  m["val_object_rotation_deg"] = objects ? rot_sum / no : nan;
  m["val_add_mm"] = objects ? add_sum / no : nan;
  m["val_adds_mm"] = objects ? adds_sum / no : nan;
  return m;
}

}  // namespace amt::trainer
