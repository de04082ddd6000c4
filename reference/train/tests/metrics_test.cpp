// Metrics against hand-computed values.
#include "reference/train/metrics.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "conformance/lib/budgets.hpp"

namespace amt::train {
namespace {

torch::Tensor random_hand(int64_t batch, int64_t seed) {
  torch::manual_seed(seed);
  return torch::randn({batch, 21, 3}, torch::kDouble) * 0.05 + torch::tensor({0.0, 0.0, 0.6}, torch::kDouble);
}

torch::Tensor rotation_z(double angle) {
  return torch::tensor(
      {{std::cos(angle), -std::sin(angle), 0.0}, {std::sin(angle), std::cos(angle), 0.0}, {0.0, 0.0, 1.0}},
      torch::kDouble);
}

TEST(Metrics, MpjpeOfAKnownOffsetIsItsLengthInMillimetres) {
  const auto gt = random_hand(2, 0);
  const auto pred = gt + torch::tensor({0.003, 0.004, 0.0}, torch::kDouble);
  const auto e = mpjpe_mm(pred.to(torch::kBFloat16).to(torch::kFloat), gt.to(torch::kFloat));
  EXPECT_EQ(e.scalar_type(), torch::kDouble);
  const auto exact = mpjpe_mm(pred, gt);
  EXPECT_NEAR(exact[0].item<double>(), 5.0, 1e-9);
  EXPECT_NEAR(exact[1].item<double>(), 5.0, 1e-9);
}

TEST(Metrics, PaMpjpeOfARotatedTranslatedCopyIsZero) {
  const auto gt = random_hand(3, 1);
  const auto pred = torch::matmul(gt, rotation_z(0.7).t()) + torch::tensor({0.1, -0.2, 0.05}, torch::kDouble);
  EXPECT_GT(mpjpe_mm(pred, gt).min().item<double>(), 10.0);
  EXPECT_LT(pa_mpjpe_mm(pred, gt, false).max().item<double>(), 1e-9);
  EXPECT_LT(pa_mpjpe_mm(pred, gt, true).max().item<double>(), 1e-9);
}

TEST(Metrics, ScaleOnlyAlignmentNeedsTheScaledVariant) {
  const auto gt = random_hand(2, 2);
  const auto centre = gt.mean(1, true);
  const auto pred = (gt - centre) * 1.3 + centre;
  EXPECT_GT(pa_mpjpe_mm(pred, gt, false).min().item<double>(), 1.0);
  EXPECT_LT(pa_mpjpe_mm(pred, gt, true).max().item<double>(), 1e-9);
}

TEST(Metrics, ProcrustesNeverReflects) {
  const auto gt = random_hand(1, 3);
  auto mirrored = gt.clone();
  mirrored.select(2, 0).mul_(-1.0);  // a mirror image is not a rigid motion: the error must stay large
  EXPECT_GT(pa_mpjpe_mm(mirrored, gt, false).item<double>(), 1.0);
}

TEST(Metrics, PckAndAuc) {
  const auto errors = torch::tensor({10.0, 25.0, 35.0, 60.0}, torch::kDouble);
  EXPECT_DOUBLE_EQ(pck(errors, 20.0), 0.25);
  EXPECT_DOUBLE_EQ(pck(errors, 30.0), 0.5);
  EXPECT_DOUBLE_EQ(pck(errors, 50.0), 0.75);
  EXPECT_NEAR(pck_auc(torch::zeros({5}, torch::kDouble), 20.0, 50.0), 1.0, 1e-12);
  EXPECT_NEAR(pck_auc(torch::full({5}, 100.0, torch::kDouble), 20.0, 50.0), 0.0, 1e-12);
  // A step at 35 mm covers half of [20, 50]: 0.5 up to the trapezoid's one-step resolution.
  EXPECT_NEAR(pck_auc(torch::full({5}, 35.0, torch::kDouble), 20.0, 50.0), 0.5, 0.5 / 99 + 1e-12);
}

TEST(Metrics, ReprojectionErrorOfAKnownShift) {
  const auto K =
      torch::tensor({{500.0, 0.0, 320.0}, {0.0, 500.0, 240.0}, {0.0, 0.0, 1.0}}, torch::kDouble).unsqueeze(0);
  auto gt = torch::zeros({1, 21, 3}, torch::kDouble);
  gt.select(2, 2).fill_(0.5);
  const auto pred = gt + torch::tensor({0.01, 0.0, 0.0}, torch::kDouble);
  const auto e = reprojection_errors_px(pred, gt, K);
  EXPECT_NEAR(e.max().item<double>(), 10.0, 1e-9);
  EXPECT_NEAR(e.min().item<double>(), 10.0, 1e-9);
}

TEST(Metrics, AddAndAddS) {
  const auto points = torch::tensor(
      {{0.05, 0.0, 0.0}, {-0.05, 0.0, 0.0}, {0.0, 0.05, 0.0}, {0.0, -0.05, 0.0}}, torch::kDouble);
  const auto R = torch::eye(3, torch::kDouble).unsqueeze(0);
  const auto t = torch::tensor({{0.0, 0.0, 0.5}}, torch::kDouble);
  EXPECT_NEAR(add_mm(R, t + torch::tensor({0.0, 0.0, 0.01}, torch::kDouble), R, t, points).item<double>(),
              10.0, 1e-9);
  // The point set is symmetric under a 180° turn about z: ADD sees 50 mm·2 displacements, ADD-S sees none.
  const auto R180 = rotation_z(M_PI).unsqueeze(0);
  EXPECT_NEAR(add_mm(R180, t, R, t, points).item<double>(), 100.0, 1e-9);
  EXPECT_NEAR(add_s_mm(R180, t, R, t, points).item<double>(), 0.0, 1e-9);
}

// ADD-S (Xiang et al., PoseCNN, eq. 9): the mean over the model points of the distance from each
// GROUND-TRUTH-transformed point to its nearest PREDICTED-transformed point. A set where the two directions
// differ, worked by hand (in cm; every point at z = 50): model points (0,0), (1,0), (2,0), (10,0) on x; the
// ground truth is the identity, the prediction turns them 90° about z and shifts by (-1,-1):
//   gt   B = (0,0) (1,0) (2,0) (10,0)        pred A = (-1,-1) (-1,0) (-1,1) (-1,9)
//   gt → nearest pred: 1, 2, 3 (all to (-1,0)), 11 (to (-1,0))       mean 17/4 cm = 42.5 mm  (ADD-S)
//   pred → nearest gt: √2, 1, √2, √82 (all to (0,0))                  mean (1 + 2√2 + √82)/4 cm ≈ 32.2 mm
TEST(Metrics, AddSGoesFromEachGroundTruthPointToTheNearestPredictedOne) {
  const double tol = conformance::budget("metric_mm").limit;
  const auto points =
      torch::tensor({{0.0, 0.0, 0.0}, {0.01, 0.0, 0.0}, {0.02, 0.0, 0.0}, {0.10, 0.0, 0.0}}, torch::kDouble);
  const auto R_gt = torch::eye(3, torch::kDouble).unsqueeze(0);
  const auto t_gt = torch::tensor({{0.0, 0.0, 0.5}}, torch::kDouble);
  const auto R_pred = rotation_z(M_PI / 2).unsqueeze(0);
  const auto t_pred = torch::tensor({{-0.01, -0.01, 0.5}}, torch::kDouble);
  const double gt_to_pred_mm = 42.5;
  const double pred_to_gt_mm = (1.0 + 2.0 * std::sqrt(2.0) + std::sqrt(82.0)) / 4.0 * 10.0;
  ASSERT_GT(gt_to_pred_mm - pred_to_gt_mm, 10.0);  // the example separates the two conventions
  EXPECT_NEAR(add_s_mm(R_pred, t_pred, R_gt, t_gt, points).item<double>(), gt_to_pred_mm, tol);
  // Swapping prediction and ground truth gives the other direction: the metric is not symmetric.
  EXPECT_NEAR(add_s_mm(R_gt, t_gt, R_pred, t_pred, points).item<double>(), pred_to_gt_mm, tol);
}

TEST(Metrics, AccumulatorExcludesNoHandFrames) {
  const auto gt = random_hand(3, 4);
  auto pred = gt.clone();
  pred[0] += 0.002;  // frame 0: every joint off by 2 mm along each axis → 2·√3 mm
  pred[1] += 1.0;    // frame 1: wildly off, but it has no hand
  pred[2] += torch::tensor({0.004, 0.0, 0.0}, torch::kDouble);  // frame 2: 4 mm
  const auto valid = torch::tensor({true, false, true});
  HandMetricAccumulator acc;
  acc.add(pred.to(torch::kFloat), gt.to(torch::kFloat), valid, torch::Tensor());
  acc.add(pred, gt, torch::tensor({false, false, false}),
          torch::Tensor());  // an all-masked batch adds nothing
  const auto r = acc.result();
  EXPECT_EQ(r.at("frames"), 2.0);
  EXPECT_NEAR(r.at("mpjpe_mm"), (2.0 * std::sqrt(3.0) + 4.0) / 2.0, 1e-4);
  EXPECT_NEAR(r.at("pa_mpjpe_mm"), 0.0, 1e-4);
  EXPECT_DOUBLE_EQ(r.at("pck3d_20mm"), 1.0);
  EXPECT_EQ(r.count("pck2d_5px"), 0u);
  EXPECT_EQ(HandMetricAccumulator().result().size(), 1u);
}

}  // namespace
}  // namespace amt::train
