// Pixel-aligned refinement: a projected point samples the feature cell it falls in, on rectangular grids,
// because uv is normalised by the size of the image K describes (upstream divided by the feature-map size).
#include <gtest/gtest.h>

#include "reference/model/pixel_refinement.hpp"
#include "reference/model/tests/amt_test_util.hpp"
#include "reference/precision/islands.hpp"

namespace amt::model::testing {
namespace {

// Features [1,1,Hp,Wp] whose cell (r, c) holds r·Wp + c.
torch::Tensor index_map(int64_t hp, int64_t wp) {
  return torch::arange(hp * wp, torch::kFloat).view({1, 1, hp, wp});
}

// The camera-frame point at depth z whose pixel is (u, v) under K.
torch::Tensor point_at_pixel(const torch::Tensor& K, double u, double v, double z) {
  const torch::Tensor kd = K.to(torch::kDouble).contiguous();
  const auto k = kd.accessor<double, 3>();
  const double x = (u - k[0][0][2]) / k[0][0][0] * z;
  const double y = (v - k[0][1][2]) / k[0][1][1] * z;
  return torch::tensor({x, y, z}, torch::kDouble);
}

struct Case {
  int64_t patch, hp, wp;
};

TEST(AmtRefinement, ProjectedPointLandsInExpectedCellOnRectangularGrids) {
  for (const Case c : {Case{14, 4, 6}, Case{14, 6, 4}, Case{16, 3, 8}, Case{14, 5, 5}}) {
    const int64_t H = c.hp * c.patch, W = c.wp * c.patch;
    const torch::Tensor K = camera_k(1, H, W);
    std::vector<torch::Tensor> pts;
    std::vector<float> want;
    for (int64_t r = 0; r < c.hp; ++r) {
      for (int64_t col = 0; col < c.wp; ++col) {
        // The centre pixel of cell (r, col): u = (col + ½)·patch − ½ in the pixel-centre convention.
        const double u = (col + 0.5) * c.patch - 0.5, v = (r + 0.5) * c.patch - 0.5;
        pts.push_back(point_at_pixel(K, u, v, 0.4 + 0.05 * r));
        want.push_back(static_cast<float>(r * c.wp + col));
      }
    }
    const torch::Tensor points = torch::stack(pts).unsqueeze(0).to(torch::kFloat);
    for (const PolicyKind kind : {PolicyKind::kFp32, PolicyKind::kBf16Pure, PolicyKind::kFp64}) {
      const PrecisionPolicy p(kind);
      const torch::Tensor feats = index_map(c.hp, c.wp).to(p.activation_dtype());
      const torch::Tensor got =
          sample_at_points(feats, precision::to_output(points, p), K.to(p.output_dtype()), torch::Tensor(),
                           vision::ImageSize{H, W}, 0.1, p);
      ASSERT_EQ(got.sizes().vec(), (std::vector<int64_t>{1, c.hp * c.wp, 1}));
      const torch::Tensor expected = torch::tensor(want).view({1, -1, 1});
      EXPECT_TRUE(torch::allclose(got.to(torch::kFloat), expected, 0, 1e-3))
          << c.hp << "x" << c.wp << " patch " << c.patch << " " << p.name() << "\n got "
          << got.flatten().to(torch::kFloat) << "\n want " << expected.flatten();
    }
  }
}

TEST(AmtRefinement, ExtrinsicsAreAppliedBeforeProjection) {
  const int64_t H = 56, W = 84;
  const torch::Tensor K = camera_k(1, H, W);
  // World point 0.1 m left of the camera-frame point of cell (2, 4); E shifts x by +0.1.
  torch::Tensor cam = point_at_pixel(K, 4.5 * 14 - 0.5, 2.5 * 14 - 0.5, 0.5);
  torch::Tensor world = cam.clone();
  world[0] -= 0.1;
  torch::Tensor E = torch::eye(4, torch::kFloat).unsqueeze(0);
  E[0][0][3] = 0.1;
  const PrecisionPolicy p;
  const torch::Tensor got = sample_at_points(index_map(4, 6), world.view({1, 1, 3}).to(torch::kFloat), K, E,
                                             vision::ImageSize{H, W}, 0.1, p);
  EXPECT_NEAR(got.item<float>(), 2 * 6 + 4, 1e-3);
}

TEST(AmtRefinement, PointsBehindOrAtTheCameraSampleZeros) {
  const int64_t H = 56, W = 84;
  const torch::Tensor K = camera_k(1, H, W);
  torch::Tensor pts = torch::stack({point_at_pixel(K, 40, 30, 0.05), point_at_pixel(K, 40, 30, -0.5),
                                    point_at_pixel(K, 40, 30, 0.5)})
                          .unsqueeze(0)
                          .to(torch::kFloat);
  pts[0][1][0] = 0.2;  // behind the camera, but would project inside the image after the sign flip
  const torch::Tensor feats = index_map(4, 6) + 1.0;  // no zero cell
  const torch::Tensor got =
      sample_at_points(feats, pts, K, torch::Tensor(), vision::ImageSize{H, W}, 0.1, PrecisionPolicy());
  EXPECT_EQ(got[0][0][0].item<float>(), 0.0f);
  EXPECT_EQ(got[0][1][0].item<float>(), 0.0f);
  EXPECT_GT(got[0][2][0].item<float>(), 0.0f);
}

}  // namespace
}  // namespace amt::model::testing
