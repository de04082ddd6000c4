// P2: each fp32 island computes in fp32 (fp64 under fp64) and gives the documented result dtype.
#include "reference/precision/islands.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <vector>

#include "reference/core/error.hpp"
#include "reference/precision/autocast_guard.hpp"
#include "reference/precision/faults.hpp"

namespace amt::precision {
namespace {

double rel_l2(const torch::Tensor& a, const torch::Tensor& b) {
  const auto d = a.to(torch::kDouble) - b.to(torch::kDouble);
  return (d.norm() / b.to(torch::kDouble).norm()).item<double>();
}

TEST(Islands, IslandDtypes) {
  const auto fp64 = PrecisionPolicy::parse("fp64");
  const auto pure = PrecisionPolicy::parse("bf16-pure");
  EXPECT_EQ(island_dtype(Island::kPositionInterpolation, fp64), torch::kFloat);
  EXPECT_EQ(island_dtype(Island::kCameraProjection, fp64), torch::kDouble);
  EXPECT_EQ(island_dtype(Island::kCameraProjection, pure), torch::kFloat);
  EXPECT_EQ(island_dtype(Island::kMetric, pure), torch::kDouble);
  EXPECT_EQ(island_dtype(Island::kLoss, pure), torch::kFloat);
}

TEST(Islands, PositionInterpolationIsFp32EvenForBf16Tables) {
  torch::manual_seed(1);
  const auto table = torch::randn({1, 16, 37, 37});
  const auto reference = interpolate_position_table(table, 29, 61);
  const auto from_bf16 = interpolate_position_table(table.to(torch::kBFloat16), 29, 61);
  EXPECT_EQ(from_bf16.scalar_type(), torch::kFloat);
  // Only the bf16 rounding of the table itself remains (≈ 2^-9 relative).
  EXPECT_LT(rel_l2(from_bf16, reference), 5e-3);
  // The fault resamples in bf16. On LibTorch 1.13 that kernel was badly wrong (relL2 4e-2..1e-1); 2.13
  // computes in fp32 inside and is close, but rounds to bf16 between its two passes: not the fp32 island.
  ScopedFault fault("island.position_interpolation_compute_dtype");
  const auto buggy = interpolate_position_table(table.to(torch::kBFloat16), 29, 61);
  EXPECT_LT(rel_l2(buggy, reference), 2e-2) << "LibTorch's bf16 bicubic is badly wrong again";
  EXPECT_GT(rel_l2(buggy, reference), rel_l2(from_bf16, reference));
}

TEST(Islands, PositionInterpolationScaleFactorModeGivesTheRequestedSize) {
  const auto table = torch::randn({1, 4, 37, 37});
  const int64_t h = 16, w = 22;
  const auto out = interpolate_position_table(table, h, w, (h + 0.1) / 37.0, (w + 0.1) / 37.0);
  EXPECT_EQ(out.sizes(), torch::IntArrayRef({1, 4, 16, 22}));
  const auto by_size = interpolate_position_table(table, h, w);
  EXPECT_GT((out - by_size).abs().max().item<double>(), 1e-3) << "meta and hf modes must differ";
}

// The residual add keeps type promotion's dtype and value: an fp32 stream with a bf16 branch gives fp32 equal
// to r + λ·x computed from the widened branch; an all-bf16 block stays bf16.
TEST(Islands, ScaledResidualAddKeepsTypePromotion) {
  const torch::Tensor r = torch::randn({2, 7, 16}), gain = torch::randn({16});
  const torch::Tensor branch = torch::randn({2, 7, 16}).to(torch::kBFloat16);
  const torch::Tensor y = add_scaled_residual(r, branch, gain);
  EXPECT_EQ(y.scalar_type(), torch::kFloat);
  EXPECT_EQ(y.scalar_type(), (r + branch * gain).scalar_type());
  EXPECT_TRUE(torch::allclose(y, r + branch.to(torch::kFloat) * gain, 1e-6, 1e-6));
  const torch::Tensor y16 = add_scaled_residual(r.to(torch::kBFloat16), branch, gain.to(torch::kBFloat16));
  EXPECT_EQ(y16.scalar_type(), torch::kBFloat16);
}

TEST(Islands, LayerNormAfterLinearWorksUnderAutocastAndKeepsInputDtype) {
  torch::nn::Linear lin(8, 8);
  torch::nn::LayerNorm ln(torch::nn::LayerNormOptions({8}));
  const auto policy = PrecisionPolicy::parse("bf16-autocast");
  AutocastGuard guard(policy);
  const auto h = lin(torch::randn({4, 8}));
  ASSERT_EQ(h.scalar_type(), torch::kBFloat16);
  const auto y = layer_norm(h, ln->weight, ln->bias, 1e-5, policy);
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  const auto ref = torch::layer_norm(h.to(torch::kFloat), {8}, ln->weight, ln->bias, 1e-5);
  EXPECT_LT(rel_l2(y, ref), 1e-2);
  // LibTorch 1.13 threw here ("expected scalar type BFloat16 but found Float"), which is why the island and
  // its fault switch island.layer_norm_mixed existed. 2.x has a mixed kernel (bf16 input, fp32 parameters,
  // fp32 inside): upstream's Linear→LayerNorm runs, and gives the island's numbers to bf16 rounding, so the
  // island is now a choice and the fault was retired (docs/faults.md).
  const auto mixed = ln(h);
  EXPECT_EQ(mixed.scalar_type(), torch::kBFloat16);
  EXPECT_LT(rel_l2(mixed, y), 1e-2);
}

TEST(Islands, ProjectionComputesInTheIslandDtypeAndMatchesTheFormula) {
  auto K = torch::tensor({{500.0, 0.0, 320.0}, {0.0, 400.0, 240.0}, {0.0, 0.0, 1.0}}).unsqueeze(0);
  const auto pts = torch::tensor({{{0.1, -0.05, 0.5}, {0.0, 0.0, 2.0}}}).to(torch::kBFloat16);
  for (const char* name : {"fp32", "bf16-autocast", "bf16-pure", "fp64"}) {
    const auto policy = PrecisionPolicy::parse(name);
    AutocastGuard guard(policy);
    const auto proj = project_points(pts, K, torch::Tensor(), policy);
    EXPECT_EQ(proj.uv.scalar_type(), policy.island_dtype()) << name;
    const auto p = pts.to(torch::kDouble);
    const double u0 = 500.0 * p[0][0][0].item<double>() / p[0][0][2].item<double>() + 320.0;
    const double v0 = 400.0 * p[0][0][1].item<double>() / p[0][0][2].item<double>() + 240.0;
    EXPECT_NEAR(proj.uv[0][0][0].item<double>(), u0, 1e-3) << name;
    EXPECT_NEAR(proj.uv[0][0][1].item<double>(), v0, 1e-3) << name;
    EXPECT_NEAR(proj.uv[0][1][0].item<double>(), 320.0, 1e-4) << name;
  }
}

TEST(Islands, ProjectionAppliesExtrinsicsFirst) {
  auto K = torch::eye(3).unsqueeze(0);
  auto E = torch::eye(4).unsqueeze(0).clone();
  E[0][2][3] = 1.0;  // world z + 1 = camera z
  const auto pts = torch::tensor({{{1.0, 2.0, 1.0}}});
  const auto proj = project_points(pts, K, E, PrecisionPolicy());
  EXPECT_NEAR(proj.uv[0][0][0].item<double>(), 0.5, 1e-6);
  EXPECT_NEAR(proj.uv[0][0][1].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(proj.depth[0][0].item<double>(), 2.0, 1e-6);
}

// At and behind the camera (islands.hpp): finite pixels, (K p)_xy / kMinProjectionDepth, worked by hand;
// the depth unclamped; a point behind the camera not at the pixel its sign flip would give.
TEST(Islands, ProjectionAtOrBehindTheCameraIsFiniteAndKeepsTheRawDepth) {
  const double fx = 500.0, fy = 400.0, cx = 320.0, cy = 240.0;
  const auto K = torch::tensor({{fx, 0.0, cx}, {0.0, fy, cy}, {0.0, 0.0, 1.0}}, torch::kDouble).unsqueeze(0);
  // (x, y, z): in the camera plane (z == 0 exactly), behind the camera, the camera centre.
  const std::vector<std::array<double, 3>> points = {{0.1, 0.05, 0.0}, {0.1, 0.05, -0.5}, {0.0, 0.0, 0.0}};
  torch::Tensor pts = torch::empty({1, 3, 3}, torch::kDouble);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j) pts[0][i][j] = points[i][j];
  const auto fp64 = PrecisionPolicy::parse("fp64");
  const auto proj = project_points(pts, K, torch::Tensor(), fp64);
  for (int64_t i = 0; i < 3; ++i) {
    const auto [x, y, z] = points[i];
    // K p, divided by the clamp: exact in fp64 (the same operations in the same order).
    EXPECT_DOUBLE_EQ(proj.uv[0][i][0].item<double>(), (fx * x + cx * z) / kMinProjectionDepth) << i;
    EXPECT_DOUBLE_EQ(proj.uv[0][i][1].item<double>(), (fy * y + cy * z) / kMinProjectionDepth) << i;
    EXPECT_EQ(proj.depth[0][i].item<double>(), z) << i;  // unclamped: callers mask on it
  }
  // The point behind the camera would sit at (fx·x/|z| + cx, fy·y/|z| + cy) = (420, 280), inside a 640×480
  // image, if the sign were dropped; it lands 1e8 px away instead.
  EXPECT_LT(proj.uv[0][1][0].item<double>(), -1e7);
  // Finite under every policy, whatever the island dtype.
  for (const char* name : {"fp32", "bf16-autocast", "bf16-pure", "fp64"}) {
    const auto policy = PrecisionPolicy::parse(name);
    AutocastGuard guard(policy);
    const auto p = project_points(pts.to(torch::kFloat), K.to(torch::kFloat), torch::Tensor(), policy);
    EXPECT_TRUE(torch::isfinite(p.uv).all().item<bool>()) << name;
    EXPECT_TRUE(torch::isfinite(p.depth).all().item<bool>()) << name;
  }
}

// The hand-crop anchor: the offset moves (0, 0, anchor_depth) onto the point that projects to the crop's
// centre pixel at depth sqrt(fx·fy)·box_m / sqrt(H·W), in fp32 under a bf16 policy and in the output dtype.
TEST(Islands, CropRayOffsetPutsTheAnchorOnTheCropCentresRayAtTheBoxDepth) {
  const auto policy = PrecisionPolicy::parse("bf16-autocast");
  const torch::Tensor K =
      torch::tensor({900.0, 1.5, 20.0, 0.0, 880.0, 130.0, 0.0, 0.0, 1.0}, torch::kFloat32).view({1, 3, 3});
  const int64_t H = 112, W = 112;
  const torch::Tensor off = crop_ray_offset(K, H, W, 0.2, 0.6, policy);
  EXPECT_EQ(off.scalar_type(), policy.output_dtype());
  ASSERT_EQ(off.sizes(), (std::vector<int64_t>{1, 3}));
  const torch::Tensor point = off.to(torch::kFloat64) + torch::tensor({0.0, 0.0, 0.6}, torch::kFloat64);
  const double z = std::sqrt(900.0 * 880.0) * 0.2 / 112.0;
  EXPECT_NEAR(point[0][2].item<double>(), z, 1e-6);
  const torch::Tensor uvw = torch::matmul(K[0].to(torch::kFloat64), point[0]);
  EXPECT_NEAR((uvw[0] / uvw[2]).item<double>(), 55.5, 1e-4);  // (W − 1) / 2
  EXPECT_NEAR((uvw[1] / uvw[2]).item<double>(), 55.5, 1e-4);
  EXPECT_THROW(crop_ray_offset(K[0], H, W, 0.2, 0.6, policy), ShapeError);
}

TEST(Islands, ProjectionInActivationDtypeQuantisesPixels) {
  // Hazard 18: upstream's fix casts K to bf16; u,v then land on a ~2 px lattice. The island keeps sub-pixel
  // accuracy.
  auto K = torch::tensor({{617.343, 0.0, 312.42}, {0.0, 617.343, 239.99}, {0.0, 0.0, 1.0}}).unsqueeze(0);
  torch::manual_seed(3);
  const auto pts =
      (torch::rand({1, 64, 3}) * torch::tensor({0.2, 0.2, 0.3}) + torch::tensor({-0.1, -0.1, 0.5}))
          .to(torch::kBFloat16);
  const auto policy = PrecisionPolicy::parse("bf16-pure");
  const auto good = project_points(pts, K, torch::Tensor(), policy).uv.to(torch::kDouble);
  const auto exact = project_points(pts.to(torch::kDouble), K.to(torch::kDouble), torch::Tensor(),
                                    PrecisionPolicy::parse("fp64"))
                         .uv;
  EXPECT_LT((good - exact).abs().max().item<double>(), 1e-3);
  ScopedFault fault("island.projection_activation_dtype");
  const auto bad = project_points(pts, K, torch::Tensor(), policy).uv.to(torch::kDouble);
  EXPECT_GT((bad - exact).abs().max().item<double>(), 0.5);
}

TEST(Islands, GridSampleWorksForBf16FeaturesOnCpu) {
  const auto policy = PrecisionPolicy::parse("bf16-pure");
  const auto feats = torch::randn({1, 4, 5, 7}).to(torch::kBFloat16);
  const auto grid = torch::zeros({1, 3, 1, 2});
  const auto out = grid_sample(feats, grid, policy);
  EXPECT_EQ(out.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(out.sizes(), torch::IntArrayRef({1, 4, 3, 1}));
  // The bypass: LibTorch 1.13 had no bf16 grid_sample CPU kernel and threw; 2.13 samples at bf16-rounded
  // coordinates (a point 0.3001 of the way lands at 0.30078), which moves every sample off a cell centre.
  const auto at = torch::full({1, 3, 1, 2}, 0.3001);
  const auto island = grid_sample(feats, at, policy);
  ScopedFault fault("island.grid_sample_feature_dtype");
  const auto bypass = grid_sample(feats, at, policy);
  EXPECT_FALSE(torch::equal(bypass, island));
}

}  // namespace
}  // namespace amt::precision
