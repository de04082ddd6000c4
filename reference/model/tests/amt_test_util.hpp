// Helpers for the AMT model tests: the tiny model per policy (built once), synthetic batches with hands in
// front of the camera, and the labels compute_losses reads.
#pragma once
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <map>
#include <string>

#include "conformance/testing/oracle.hpp"
#include "reference/model/amt_model.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/policy.hpp"

namespace amt::model::testing {

using precision::PolicyKind;
using precision::PrecisionPolicy;

inline AmtConfig tiny_config() {
  return load_amt_config_file(::amt::testing::source_dir() + "/configs/tiny.yaml");
}

// The tiny model with seed 0 for `policy`, built once per policy (eval mode unless a test switches it).
inline AmtModel& tiny_model(const PrecisionPolicy& policy) {
  static std::map<std::string, AmtModel> cache;
  auto it = cache.find(policy.name());
  if (it == cache.end()) {
    it = cache.emplace(policy.name(), make_amt_model(tiny_config(), 0, policy)).first;
    it->second->eval();
  }
  return it->second;
}

// A pinhole K for an H×W image (principal point at the centre, f ≈ 1.2·max side) of dtype `dt`, [B,3,3].
inline torch::Tensor camera_k(int64_t B, int64_t H, int64_t W, torch::ScalarType dt = torch::kFloat) {
  const double f = 1.2 * static_cast<double>(std::max(H, W));
  torch::Tensor k =
      torch::tensor({f, 0.0, (W - 1) / 2.0, 0.0, f, (H - 1) / 2.0, 0.0, 0.0, 1.0}, torch::kDouble)
          .view({1, 3, 3});
  return k.repeat({B, 1, 1}).to(dt);
}

// Rigid world→camera transforms close to identity, [B,4,4].
inline torch::Tensor camera_e(int64_t B, torch::ScalarType dt = torch::kFloat) {
  torch::Tensor e = torch::eye(4, torch::kDouble).repeat({B, 1, 1});
  e.select(1, 0).select(1, 3).fill_(0.01);
  return e.to(dt);
}

// Image in `dt`: uint8 0..255 or normalised floats ~N(0,1).
inline torch::Tensor random_image(int64_t B, int64_t H, int64_t W, torch::ScalarType dt, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  if (dt == torch::kByte) return torch::randint(0, 256, {B, 3, H, W}, gen, torch::kLong).to(torch::kByte);
  return torch::randn({B, 3, H, W}, gen, torch::kDouble).to(dt);
}

// Labels compute_losses reads: joints ~0.5–0.7 m in front of the camera, their projections, an object pose.
inline void add_labels(amt::TensorMap& batch, int64_t B, int64_t H, int64_t W, torch::ScalarType dt,
                       uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed + 7);
  torch::Tensor j = torch::randn({B, 21, 3}, gen, torch::kDouble) * 0.05;
  j.select(2, 2).add_(0.6);
  const torch::Tensor K = camera_k(B, H, W, torch::kDouble);
  const torch::Tensor uvw = torch::matmul(j, K.transpose(1, 2));
  batch["joint_3d"] = j.to(dt);
  batch["joint_2d"] = (uvw.narrow(2, 0, 2) / uvw.narrow(2, 2, 1)).to(dt);
  torch::Tensor pose = torch::zeros({B, 3, 4}, torch::kDouble);
  pose.narrow(2, 0, 3).copy_(torch::eye(3, torch::kDouble));
  pose.select(2, 3).select(1, 2).fill_(0.6);
  batch["grasped_pose"] = pose.to(dt);
  batch["grasped_object_id"] = torch::arange(B, torch::kLong) % 3;  // some frames without an object
  batch["has_hand"] = torch::arange(B, torch::kLong) % 4 != 3;      // a no-hand frame when B == 4
}

}  // namespace amt::model::testing
