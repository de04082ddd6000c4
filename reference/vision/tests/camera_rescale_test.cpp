// V1: the pixel-centre convention — K rescaling, grid_sample normalisation, and agreement with OpenCV's
// resampling.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <random>

#include "reference/core/error.hpp"
#include "reference/vision/camera_rescale.hpp"
#include "reference/vision/dynamic_resize.hpp"

namespace amt::vision {
namespace {

struct Pixel {
  double u, v;
};
// A random camera through a random resize (pixel-centre rule, grid_sample coordinate unchanged): the property
// rect_grids.resize in conformance/suites.

TEST(CameraRescale, ClosedFormValues) {
  const Intrinsics K{500, 400, 319.5, 239.5, 0};  // centred camera on a 640×480 image
  const Intrinsics K2 = rescale_intrinsics(K, {480, 640}, {240, 320});
  EXPECT_DOUBLE_EQ(K2.fx, 250);
  EXPECT_DOUBLE_EQ(K2.fy, 200);
  EXPECT_DOUBLE_EQ(K2.cx, 159.5);  // the centre stays the centre: (319.5+0.5)/2 − 0.5
  EXPECT_DOUBLE_EQ(K2.cy, 119.5);
  // Not the naive cx·sx (= 159.75).
  EXPECT_NE(K2.cx, K.cx * 0.5);
}

TEST(CameraRescale, TensorVersionKeepsDtypeAndBatches) {
  const torch::Tensor K = torch::stack({intrinsics_matrix({500, 400, 319.5, 239.5, 1.0}, torch::kFloat32),
                                        intrinsics_matrix({300, 300, 100, 50, 0}, torch::kFloat32)});
  const torch::Tensor K2 = rescale_intrinsics(K, {480, 640}, {336, 448});
  EXPECT_EQ(K2.scalar_type(), torch::kFloat32);
  EXPECT_EQ(K2.sizes(), K.sizes());
  const Intrinsics ref = rescale_intrinsics(Intrinsics{300, 300, 100, 50, 0}, {480, 640}, {336, 448});
  EXPECT_NEAR(K2[1][0][0].item<double>(), ref.fx, 1e-4);
  EXPECT_NEAR(K2[1][0][2].item<double>(), ref.cx, 1e-4);
  EXPECT_NEAR(K2[1][1][2].item<double>(), ref.cy, 1e-4);
  EXPECT_NEAR(K2[0][0][1].item<double>(), 0.7, 1e-6);  // skew scales with sx
  EXPECT_THROW(rescale_intrinsics(torch::zeros({3, 4}), {1, 1}, {2, 2}), ShapeError);
  EXPECT_THROW(rescale_intrinsics(torch::zeros({3, 3}, torch::kInt64), {1, 1}, {2, 2}), DtypeError);
  EXPECT_THROW(rescale_intrinsics(Intrinsics{}, {0, 1}, {2, 2}), ValueError);
}

TEST(PixelToNormalized, GridSampleReadsExactlyThePixelAtIntegerCoordinates) {
  // grid_sample(align_corners=false) at pixel_to_normalized(u, v) must return pixel (v, u) exactly, on a
  // rectangular image: this is the convention the refinement relies on.
  const int64_t H = 5, W = 7;
  const torch::Tensor feat = torch::arange(H * W, torch::kFloat64).view({1, 1, H, W});
  std::vector<double> uv;
  for (int64_t v = 0; v < H; ++v)
    for (int64_t u = 0; u < W; ++u) uv.insert(uv.end(), {double(u), double(v)});
  const torch::Tensor grid =
      pixel_to_normalized(torch::tensor(uv, torch::kFloat64).view({1, H * W, 1, 2}), {H, W});
  const torch::Tensor sampled = torch::grid_sampler(feat, grid, 0, 0, false).view({H * W});
  EXPECT_TRUE(torch::allclose(sampled, torch::arange(H * W, torch::kFloat64), 0, 1e-12));
  // Half-integer coordinates are the average of two neighbours (bilinear between centres).
  const torch::Tensor mid =
      pixel_to_normalized(torch::tensor({2.5, 1.0}, torch::kFloat64).view({1, 1, 1, 2}), {H, W});
  EXPECT_NEAR(torch::grid_sampler(feat, mid, 0, 0, false).item<double>(), (1 * W + 2 + 1 * W + 3) / 2.0,
              1e-12);
}

TEST(PixelToNormalized, EdgesAndInverse) {
  const torch::Tensor edges = torch::tensor({-0.5, -0.5, 9.5, 3.5}, torch::kFloat32).view({2, 2});
  const torch::Tensor n = pixel_to_normalized(edges, {4, 10});
  EXPECT_EQ(n.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(n, torch::tensor({-1.0f, -1.0f, 1.0f, 1.0f}).view({2, 2})));
  EXPECT_TRUE(torch::allclose(normalized_to_pixel(n, {4, 10}), edges));
  EXPECT_THROW(pixel_to_normalized(torch::zeros({3}), {4, 10}), ShapeError);
}

// The convention agrees with OpenCV's resampling: the intensity centroid of a blob drawn at pixel (u, v)
// lands at rescale_pixel(u, sx) after cv::resize, for shrinking (INTER_AREA) and enlarging (INTER_CUBIC). The
// naive rule cx·sx would be off by 0.5·|1 − s| pixels (0.25 px at s = 0.5, 0.5 px at s = 2).
Pixel centroid(const cv::Mat& grey) {
  double sum = 0, su = 0, sv = 0;
  for (int v = 0; v < grey.rows; ++v)
    for (int u = 0; u < grey.cols; ++u) {
      const double x = grey.at<float>(v, u);
      sum += x;
      su += x * u;
      sv += x * v;
    }
  return {su / sum, sv / sum};
}

TEST(CameraRescale, AgreesWithOpenCvResampling) {
  const int H = 96, W = 128;
  const double u0 = 57.3, v0 = 40.8, sigma = 6.0;
  cv::Mat img(H, W, CV_8UC3), grey;
  for (int v = 0; v < H; ++v)
    for (int u = 0; u < W; ++u) {
      const double g = 255.0 * std::exp(-((u - u0) * (u - u0) + (v - v0) * (v - v0)) / (2 * sigma * sigma));
      img.at<cv::Vec3b>(v, u) = cv::Vec3b::all(static_cast<uint8_t>(std::lround(g)));
    }
  for (const ImageSize to :
       {ImageSize{48, 64}, ImageSize{32, 32}, ImageSize{192, 256}, ImageSize{144, 160}}) {
    SCOPED_TRACE(to.str());
    const cv::Mat out = resize_image(img, to);
    cv::Mat channel;
    cv::extractChannel(out, channel, 0);
    channel.convertTo(grey, CV_32F);
    const Pixel got = centroid(grey);
    cv::Mat src;
    cv::extractChannel(img, channel, 0);
    channel.convertTo(src, CV_32F);
    const Pixel before = centroid(src);
    const double sx = static_cast<double>(to.width) / W, sy = static_cast<double>(to.height) / H;
    EXPECT_NEAR(got.u, rescale_pixel(before.u, sx), 0.08);
    EXPECT_NEAR(got.v, rescale_pixel(before.v, sy), 0.08);
  }
}

}  // namespace
}  // namespace amt::vision
