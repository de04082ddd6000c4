// Losses against hand-computed values, validity masking, and the dtype rules (losses are fp32 islands).
#include "reference/train/losses.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "reference/precision/autocast_guard.hpp"
#include "reference/precision/faults.hpp"
#include "reference/train/rotation.hpp"

namespace amt::train {
namespace {

using precision::PrecisionPolicy;

torch::Tensor hand(int64_t batch, int64_t seed) {
  torch::manual_seed(seed);
  return torch::randn({batch, 21, 3}) * 0.05 + torch::tensor({0.0, 0.0, 0.6});
}

torch::Tensor rotation_z(double a) {
  return torch::tensor({{std::cos(a), -std::sin(a), 0.0}, {std::sin(a), std::cos(a), 0.0}, {0.0, 0.0, 1.0}});
}

torch::Tensor camera(int64_t batch) {
  return torch::tensor({{500.0, 0.0, 320.0}, {0.0, 500.0, 240.0}, {0.0, 0.0, 1.0}})
      .expand({batch, 3, 3})
      .clone();
}

TEST(Rotation, SixDRoundTripsAndIsOrthonormal) {
  torch::manual_seed(0);
  const auto R = rotation_6d_to_matrix(torch::randn({8, 6}, torch::kDouble));
  const auto I = torch::matmul(R.transpose(-1, -2), R);
  EXPECT_LT((I - torch::eye(3, torch::kDouble)).abs().max().item<double>(), 1e-12);
  EXPECT_LT((torch::linalg_det(R) - 1.0).abs().max().item<double>(), 1e-12);
  EXPECT_LT((rotation_6d_to_matrix(matrix_to_rotation_6d(R)) - R).abs().max().item<double>(), 1e-12);
  EXPECT_NEAR(geodesic_angle(rotation_z(0.3), torch::eye(3)).item<double>(), 0.3, 1e-3);
}

TEST(Losses, HandMpjpeOfAKnownOffset) {
  const auto gt = hand(2, 1);
  const auto pred = gt + torch::tensor({0.003, 0.004, 0.0});
  const auto valid = torch::tensor({true, true});
  EXPECT_NEAR(hand_mpjpe_loss(pred, gt, valid, 1.0, PrecisionPolicy()).item<double>(), 0.005, 1e-7);
  // Tip weighting renormalised to mean 1: errors only at the 5 tips give 5·(1.5/m)·d/21 with m = 23.5/21.
  auto tips_off = gt.clone();
  for (int64_t t : {4, 8, 12, 16, 20}) tips_off.select(1, t).add_(torch::tensor({0.01, 0.0, 0.0}));
  EXPECT_NEAR(hand_mpjpe_loss(tips_off, gt, valid, 1.5, PrecisionPolicy()).item<double>(), 7.5 * 0.01 / 23.5,
              1e-7);
}

TEST(Losses, NoHandFramesAreExcludedFromTheMean) {
  const auto gt = hand(2, 2);
  auto pred = gt.clone();
  pred[0] += torch::tensor({0.005, 0.0, 0.0});
  pred[1] += 1.0;  // the frame without a hand: its (sentinel-like) target must not matter
  const auto loss = hand_mpjpe_loss(pred, gt, torch::tensor({true, false}), 1.0, PrecisionPolicy());
  EXPECT_NEAR(loss.item<double>(), 0.005, 1e-7);
}

TEST(Losses, ReprojectionIsSmoothL1InPixels) {
  auto gt3 = torch::zeros({1, 21, 3});
  gt3.select(2, 2).fill_(0.5);
  const auto gt2 = torch::tensor({320.0, 240.0}).expand({1, 21, 2}).clone();
  const auto pred = gt3 + torch::tensor({0.01, 0.0, 0.0});  // 10 px in u, 0 in v
  const auto loss = reprojection_loss(pred, gt2, camera(1), torch::tensor({true}), PrecisionPolicy());
  EXPECT_NEAR(loss.item<double>(), (10.0 - 0.5) / 2.0, 1e-4);
}

TEST(Losses, ObjectPoseKnownOffsets) {
  auto target = torch::zeros({1, 3, 4});
  target.narrow(2, 0, 3).copy_(torch::eye(3).unsqueeze(0));
  target[0][2][3] = 0.6;
  const auto pos = torch::tensor({{0.5, 0.0, 0.6}});
  const auto rot = matrix_to_rotation_6d(rotation_z(0.3)).unsqueeze(0);
  const auto loss = object_pose_loss(pos, rot, target, torch::tensor({true}), PrecisionPolicy());
  EXPECT_NEAR(loss.position.item<double>(), 0.5 * 0.25 / 3.0, 1e-7);  // smooth-L1 below β: ½x², mean over xyz
  EXPECT_NEAR(loss.rotation.item<double>(), 0.3, 1e-3);
}

TEST(Losses, DiversityAndPhysicsHandComputed) {
  auto joints = torch::zeros({2, 21, 3});
  joints[1] += 0.001;  // ‖Δ‖ over 63 coordinates = 0.001·√63 ≈ 7.9 mm < 10 mm margin
  const auto div = diversity_loss(joints, torch::tensor({true, true}), 0.01, PrecisionPolicy());
  EXPECT_NEAR(div.item<double>(), 0.01 - 0.001 * std::sqrt(63.0), 1e-6);
  EXPECT_EQ(diversity_loss(joints, torch::tensor({true, false}), 0.01, PrecisionPolicy()).item<double>(),
            0.0);
  // A straight hand (all bones along x) bends nowhere; an object 1 mm from joint 0 penetrates by 4 mm there.
  auto straight = torch::zeros({1, 21, 3});
  for (int64_t j = 1; j < 21; ++j) straight[0][j][0] = 0.01 * ((j - 1) % 4 + 1);
  const auto objects = torch::tensor({{{0.0, 0.001, 0.0}}});
  const auto phys = physics_loss(straight, objects, torch::tensor({true}), PrecisionPolicy());
  EXPECT_LT(phys.joint_angles.item<double>(), 1e-6);
  EXPECT_NEAR(phys.penetration.item<double>(), 0.004 / 21.0, 1e-7);
  auto folded = straight.clone();
  folded[0][3][0] =
      0.0;  // thumb joint 3 moves back to x = 0: π turns at joints 2 and 3, 0.2π over the limit each
  EXPECT_NEAR(
      physics_loss(folded, objects, torch::tensor({true}), PrecisionPolicy()).joint_angles.item<double>(),
      2 * 0.2 * M_PI / 15.0, 1e-3);
}

TEST(Losses, AllMaskedBatchGivesExactlyZeroLossAndZeroGradient) {
  const int64_t B = 2;
  TensorMap outputs = {
      {"hand_joints_coarse", hand(B, 3)},
      {"hand_joints", hand(B, 4)},
      {"object_positions", torch::randn({B, 10, 3})},
      {"object_rotations", torch::randn({B, 10, 6})},
      {"contact_points", torch::randn({B, 10, 3})},
      {"contact_confidence", torch::rand({B, 10})},
  };
  for (auto& [k, v] : outputs) v.requires_grad_(true);
  const TensorMap batch = {
      {"joint_3d", torch::zeros({B, 21, 3})},
      {"joint_2d", torch::zeros({B, 21, 2})},
      {"K", camera(B)},
      {"has_hand", torch::zeros({B}, torch::kBool)},
      {"grasped_pose", torch::zeros({B, 3, 4})},
      {"grasped_object_id", torch::zeros({B}, torch::kLong)},
  };
  const auto result = compute_losses(outputs, batch, LossWeights(), PrecisionPolicy());
  EXPECT_EQ(result.total.item<double>(), 0.0);
  result.total.backward();
  for (const auto& [k, v] : outputs) {
    ASSERT_TRUE(v.grad().defined()) << k;
    EXPECT_EQ(v.grad().abs().max().item<double>(), 0.0) << k;
  }
  for (const char* term :
       {"hand_coarse", "hand_refined", "pairwise", "reprojection", "object_position", "object_rotation",
        "contact", "physics_joint_angles", "physics_penetration", "diversity"}) {
    EXPECT_EQ(result.terms.count(term), 1u) << term;
  }
}

TEST(Losses, Bf16PredictionsWithFp32CameraGiveFp32LossesUnderEveryPolicy) {
  const int64_t B = 2;
  for (const char* name : {"fp32", "bf16-autocast", "bf16-pure", "fp64"}) {
    const auto policy = PrecisionPolicy::parse(name);
    precision::AutocastGuard guard(policy);
    const TensorMap outputs = {{"hand_joints", hand(B, 5).to(torch::kBFloat16)},
                               {"hand_joints_coarse", hand(B, 6).to(torch::kBFloat16)}};
    const TensorMap batch = {{"joint_3d", hand(B, 7)},
                             {"joint_2d", torch::rand({B, 21, 2}) * 400},
                             {"K", camera(B)},
                             {"has_hand", torch::ones({B}, torch::kBool)}};
    const auto result = compute_losses(outputs, batch, LossWeights(), policy);
    EXPECT_EQ(result.total.scalar_type(), policy.island_dtype()) << name;
    EXPECT_TRUE(std::isfinite(result.total.item<double>())) << name;
  }
}

TEST(Losses, ReprojectionWithoutTheIslandHitsTheSeedError) {
  const auto pred = hand(1, 8).to(torch::kBFloat16);
  const auto gt2 = torch::rand({1, 21, 2});
  const auto policy = PrecisionPolicy::parse("bf16-pure");
  EXPECT_NO_THROW(reprojection_loss(pred, gt2, camera(1), torch::tensor({true}), policy));
  ScopedFault fault("island.projection_no_cast");
  EXPECT_THROW(reprojection_loss(pred, gt2, camera(1), torch::tensor({true}), policy), c10::Error);
}

}  // namespace
}  // namespace amt::train
