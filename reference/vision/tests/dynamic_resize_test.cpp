// V1: DynamicResize — the documented rule (table + properties), OpenCV resampling, normalisation.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <opencv2/imgproc.hpp>
#include <random>

#include "reference/core/error.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/vision/dynamic_resize.hpp"
#include "reference/vision/image_grid.hpp"

namespace amt::vision {
namespace {

struct TableRow {
  int64_t w, h, patch, s, max_side;
  bool upscale;
  int64_t expect_w, expect_h;
};

// Hand-computed from the rule in docs/vision.md §1 (sizes are width × height, as image sizes are usually
// quoted). Worked examples: 640×480, q=14, upscale: L' = ceil(640/14)·14 = 644, S' = round(480·644/640/14)·14
// = round(34.5)·14 = 490. No upscale: L' = floor(640/14)·14 = 630, S' = round(33.75)·14 = 476 ≤
// floor(480/14)·14. 1920×1080, q=14, m=1008: L' = 1008, S' = round(1080·1008/1920/14) = round(40.5) = 41 →
// 574.
const TableRow kTable[] = {
    {640, 480, 14, 1, 1008, true, 644, 490},
    {1920, 1080, 14, 1, 1008, true, 1008, 574},
    {500, 375, 14, 1, 1008, true, 504, 378},
    {100, 3000, 14, 1, 1008, true, 28, 1008},
    {333, 333, 14, 1, 1008, true, 336, 336},
    {1, 1, 14, 1, 1008, true, 14, 14},
    {8000, 6000, 14, 1, 1008, true, 1008, 756},
    {3000, 100, 14, 1, 1008, true, 1008, 28},
    {224, 224, 14, 1, 1008, true, 224, 224},
    {518, 518, 14, 1, 1008, true, 518, 518},
    {375, 500, 14, 1, 1008, true, 378, 504},
    {1280, 720, 14, 1, 1008, true, 1008, 574},
    {7680, 4320, 14, 1, 1008, true, 1008, 574},
    {1, 4000, 14, 1, 1008, true, 14, 1008},
    {13, 7, 14, 1, 1008, true, 14, 14},
    {640, 480, 14, 1, 1008, false, 630, 476},
    {1920, 1080, 14, 1, 1008, false, 1008, 574},
    {500, 375, 14, 1, 1008, false, 490, 364},
    {100, 3000, 14, 1, 1008, false, 28, 1008},
    {333, 333, 14, 1, 1008, false, 322, 322},
    {1, 1, 14, 1, 1008, false, 14, 14},
    {8000, 6000, 14, 1, 1008, false, 1008, 756},
    {3000, 100, 14, 1, 1008, false, 1008, 28},
    {224, 224, 14, 1, 1008, false, 224, 224},
    {518, 518, 14, 1, 1008, false, 518, 518},
    {375, 500, 14, 1, 1008, false, 364, 490},
    {1280, 720, 14, 1, 1008, false, 1008, 574},
    {7680, 4320, 14, 1, 1008, false, 1008, 574},
    {1, 4000, 14, 1, 1008, false, 14, 1008},
    {13, 7, 14, 1, 1008, false, 14, 14},
    {640, 480, 14, 2, 1008, true, 644, 476},
    {1920, 1080, 14, 2, 1008, true, 1008, 560},
    {500, 375, 14, 2, 1008, true, 504, 392},
    {100, 3000, 14, 2, 1008, true, 28, 1008},
    {333, 333, 14, 2, 1008, true, 336, 336},
    {1, 1, 14, 2, 1008, true, 28, 28},
    {8000, 6000, 14, 2, 1008, true, 1008, 756},
    {3000, 100, 14, 2, 1008, true, 1008, 28},
    {224, 224, 14, 2, 1008, true, 224, 224},
    {518, 518, 14, 2, 1008, true, 532, 532},
    {375, 500, 14, 2, 1008, true, 392, 504},
    {1280, 720, 14, 2, 1008, true, 1008, 560},
    {7680, 4320, 14, 2, 1008, true, 1008, 560},
    {1, 4000, 14, 2, 1008, true, 28, 1008},
    {13, 7, 14, 2, 1008, true, 28, 28},
    {640, 480, 14, 2, 1008, false, 616, 476},
    {1920, 1080, 14, 2, 1008, false, 1008, 560},
    {500, 375, 14, 2, 1008, false, 476, 364},
    {100, 3000, 14, 2, 1008, false, 28, 1008},
    {333, 333, 14, 2, 1008, false, 308, 308},
    {1, 1, 14, 2, 1008, false, 28, 28},
    {8000, 6000, 14, 2, 1008, false, 1008, 756},
    {3000, 100, 14, 2, 1008, false, 1008, 28},
    {224, 224, 14, 2, 1008, false, 224, 224},
    {518, 518, 14, 2, 1008, false, 504, 504},
    {375, 500, 14, 2, 1008, false, 364, 476},
    {1280, 720, 14, 2, 1008, false, 1008, 560},
    {7680, 4320, 14, 2, 1008, false, 1008, 560},
    {1, 4000, 14, 2, 1008, false, 28, 1008},
    {13, 7, 14, 2, 1008, false, 28, 28},
    {640, 480, 16, 1, 1024, true, 640, 480},
    {1920, 1080, 16, 1, 1024, true, 1024, 576},
    {500, 375, 16, 1, 1024, true, 512, 384},
    {100, 3000, 16, 1, 1024, true, 32, 1024},
    {333, 333, 16, 1, 1024, true, 336, 336},
    {1, 1, 16, 1, 1024, true, 16, 16},
    {8000, 6000, 16, 1, 1024, true, 1024, 768},
    {3000, 100, 16, 1, 1024, true, 1024, 32},
    {224, 224, 16, 1, 1024, true, 224, 224},
    {518, 518, 16, 1, 1024, true, 528, 528},
    {375, 500, 16, 1, 1024, true, 384, 512},
    {1280, 720, 16, 1, 1024, true, 1024, 576},
    {7680, 4320, 16, 1, 1024, true, 1024, 576},
    {1, 4000, 16, 1, 1024, true, 16, 1024},
    {13, 7, 16, 1, 1024, true, 16, 16},
    {640, 480, 16, 1, 1024, false, 640, 480},
    {1920, 1080, 16, 1, 1024, false, 1024, 576},
    {500, 375, 16, 1, 1024, false, 496, 368},
    {100, 3000, 16, 1, 1024, false, 32, 1024},
    {333, 333, 16, 1, 1024, false, 320, 320},
    {1, 1, 16, 1, 1024, false, 16, 16},
    {8000, 6000, 16, 1, 1024, false, 1024, 768},
    {3000, 100, 16, 1, 1024, false, 1024, 32},
    {224, 224, 16, 1, 1024, false, 224, 224},
    {518, 518, 16, 1, 1024, false, 512, 512},
    {375, 500, 16, 1, 1024, false, 368, 496},
    {1280, 720, 16, 1, 1024, false, 1024, 576},
    {7680, 4320, 16, 1, 1024, false, 1024, 576},
    {1, 4000, 16, 1, 1024, false, 16, 1024},
    {13, 7, 16, 1, 1024, false, 16, 16},
    {640, 480, 16, 2, 1024, true, 640, 480},
    {1920, 1080, 16, 2, 1024, true, 1024, 576},
    {500, 375, 16, 2, 1024, true, 512, 384},
    {100, 3000, 16, 2, 1024, true, 32, 1024},
    {333, 333, 16, 2, 1024, true, 352, 352},
    {1, 1, 16, 2, 1024, true, 32, 32},
    {8000, 6000, 16, 2, 1024, true, 1024, 768},
    {3000, 100, 16, 2, 1024, true, 1024, 32},
    {224, 224, 16, 2, 1024, true, 224, 224},
    {518, 518, 16, 2, 1024, true, 544, 544},
    {375, 500, 16, 2, 1024, true, 384, 512},
    {1280, 720, 16, 2, 1024, true, 1024, 576},
    {7680, 4320, 16, 2, 1024, true, 1024, 576},
    {1, 4000, 16, 2, 1024, true, 32, 1024},
    {13, 7, 16, 2, 1024, true, 32, 32},
    {640, 480, 16, 2, 1024, false, 640, 480},
    {1920, 1080, 16, 2, 1024, false, 1024, 576},
    {500, 375, 16, 2, 1024, false, 480, 352},
    {100, 3000, 16, 2, 1024, false, 32, 1024},
    {333, 333, 16, 2, 1024, false, 320, 320},
    {1, 1, 16, 2, 1024, false, 32, 32},
    {8000, 6000, 16, 2, 1024, false, 1024, 768},
    {3000, 100, 16, 2, 1024, false, 1024, 32},
    {224, 224, 16, 2, 1024, false, 224, 224},
    {518, 518, 16, 2, 1024, false, 512, 512},
    {375, 500, 16, 2, 1024, false, 352, 480},
    {1280, 720, 16, 2, 1024, false, 1024, 576},
    {7680, 4320, 16, 2, 1024, false, 1024, 576},
    {1, 4000, 16, 2, 1024, false, 32, 1024},
    {13, 7, 16, 2, 1024, false, 32, 32},
    // Near-square sizes whose short side would round up past its original size without the no-upscale cap.
    {224, 200, 14, 1, 1008, true, 224, 196},
    {200, 224, 14, 1, 1008, true, 196, 224},
    {224, 200, 14, 1, 1008, false, 224, 196},
    {200, 224, 14, 1, 1008, false, 196, 224},
    {224, 200, 14, 2, 1008, true, 224, 196},
    {200, 224, 14, 2, 1008, true, 196, 224},
    {224, 200, 14, 2, 1008, false, 224, 196},
    {200, 224, 14, 2, 1008, false, 196, 224},
    {224, 200, 16, 1, 1024, true, 224, 208},
    {200, 224, 16, 1, 1024, true, 208, 224},
    {224, 200, 16, 1, 1024, false, 224, 192},
    {200, 224, 16, 1, 1024, false, 192, 224},
    {224, 200, 16, 2, 1024, true, 224, 192},
    {200, 224, 16, 2, 1024, true, 192, 224},
    {224, 200, 16, 2, 1024, false, 224, 192},
    {200, 224, 16, 2, 1024, false, 192, 224},
};

TEST(DynamicResizeTable, RealWorldSizes) {
  for (const TableRow& r : kTable) {
    SCOPED_TRACE(std::to_string(r.w) + "x" + std::to_string(r.h) + " patch " + std::to_string(r.patch) +
                 " s " + std::to_string(r.s) + (r.upscale ? " upscale" : " no-upscale"));
    const ImageSize out = dynamic_resize_target({r.h, r.w}, r.patch * r.s, r.max_side, r.upscale);
    EXPECT_EQ(out.width, r.expect_w);
    EXPECT_EQ(out.height, r.expect_h);
    // Every result must give a valid grid (V2).
    EXPECT_NO_THROW(make_image_grid(out, r.patch, r.s));
  }
}

TEST(DynamicResizeTable, ClassObjectMatchesFreeFunction) {
  const DynamicResize resize(28, 448, false);
  EXPECT_EQ(resize.target_size({480, 640}), dynamic_resize_target({480, 640}, 28, 448, false));
  EXPECT_EQ(resize.target_size({480, 640}), (ImageSize{336, 448}));
}

TEST(DynamicResizeConfig, MaxSideMustBeMultipleOfQ) {
  EXPECT_THROW(DynamicResize(32, 1000, true), ConfigError);
  EXPECT_THROW(DynamicResize(28, 14, true), ConfigError);  // max_side < q
  EXPECT_THROW(DynamicResize(0, 448, true), ConfigError);
  EXPECT_THROW(dynamic_resize_target({10, 10}, 32, 1000, false), ConfigError);
  EXPECT_THROW(dynamic_resize_target({0, 10}, 32, 1024, false), ValueError);
  try {
    DynamicResize(32, 1000, true);
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("1000"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("32"), std::string::npos);
  }
}

cv::Mat random_image(int h, int w, uint64_t seed) {
  cv::Mat img(h, w, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(img, cv::RNG::UNIFORM, 0, 256);
  return img;
}

// The V1 invariants for every size (multiples of q, the long-side rule, aspect within one q step, no growth
// without upscaling, K's pixel-centre rule) are the property rect_grids.resize in conformance/suites.

RC_GTEST_PROP(DynamicResizeProperty, ResizedImageHasTargetSizeAndChannels, ()) {
  const int64_t h = *rc::gen::inRange<int64_t>(1, 300), w = *rc::gen::inRange<int64_t>(1, 300);
  const bool up = *rc::gen::arbitrary<bool>();
  const cv::Mat img = random_image(static_cast<int>(h), static_cast<int>(w), *rc::gen::arbitrary<uint64_t>());
  const DynamicResize resize(28, 224, up);
  const ResizedImage r = resize(img, Intrinsics{100, 100, w / 2.0, h / 2.0, 0});
  RC_ASSERT(r.size == resize.target_size({h, w}));
  RC_ASSERT(r.image.rows == r.size.height && r.image.cols == r.size.width);
  RC_ASSERT(r.image.type() == CV_8UC3);
  RC_ASSERT(r.original_size == (ImageSize{h, w}));
  RC_ASSERT(r.scale_x == static_cast<double>(r.size.width) / static_cast<double>(w));
  RC_ASSERT(r.scale_y == static_cast<double>(r.size.height) / static_cast<double>(h));
}

double max_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  return cv::norm(a, b, cv::NORM_INF);
}

TEST(ResizeImage, InterAreaWhenShrinkingCubicWhenEnlarging) {
  const cv::Mat img = random_image(60, 80, 1);
  cv::Mat area, cubic, linear;
  // A non-integer factor: at exactly 1/2, INTER_AREA and INTER_LINEAR coincide.
  cv::resize(img, area, cv::Size(34, 26), 0, 0, cv::INTER_AREA);
  cv::resize(img, linear, cv::Size(34, 26), 0, 0, cv::INTER_LINEAR);
  const cv::Mat shrunk = resize_image(img, {26, 34});
  EXPECT_EQ(max_abs_diff(shrunk, area), 0.0);
  EXPECT_GT(max_abs_diff(shrunk, linear), 0.0);  // the comparison can tell the interpolations apart

  cv::resize(img, cubic, cv::Size(112, 84), 0, 0, cv::INTER_CUBIC);
  cv::resize(img, linear, cv::Size(112, 84), 0, 0, cv::INTER_LINEAR);
  const cv::Mat grown = resize_image(img, {84, 112});
  EXPECT_EQ(max_abs_diff(grown, cubic), 0.0);
  EXPECT_GT(max_abs_diff(grown, linear), 0.0);

  const cv::Mat same = resize_image(img, {60, 80});
  EXPECT_EQ(max_abs_diff(same, img), 0.0);
  EXPECT_NE(same.data, img.data);  // a copy, not a view of the input
}

TEST(ResizeImage, MixedAxesResizeOneAxisAtATime) {
  // 3000×1 → 448×28 style: height shrinks (AREA), width grows (CUBIC).
  const cv::Mat img = random_image(300, 2, 2);
  cv::Mat step, expect;
  cv::resize(img, step, cv::Size(2, 30), 0, 0, cv::INTER_AREA);
  cv::resize(step, expect, cv::Size(14, 30), 0, 0, cv::INTER_CUBIC);
  const cv::Mat out = resize_image(img, {30, 14});
  EXPECT_EQ(out.rows, 30);
  EXPECT_EQ(out.cols, 14);
  EXPECT_EQ(max_abs_diff(out, expect), 0.0);
  // A constant image stays constant through both passes.
  const cv::Mat flat(300, 2, CV_8UC3, cv::Scalar(7, 100, 250));
  const cv::Mat flat_out = resize_image(flat, {30, 14});
  EXPECT_EQ(max_abs_diff(flat_out, cv::Mat(30, 14, CV_8UC3, cv::Scalar(7, 100, 250))), 0.0);
}

TEST(ResizeImage, RejectsEmptyAndNon8Bit) {
  EXPECT_THROW(resize_image(cv::Mat(), {14, 14}), ShapeError);
  EXPECT_THROW(resize_image(cv::Mat(4, 4, CV_32FC3), {14, 14}), ShapeError);
}

TEST(NormalizeImage, ImageNetRuleChannelByChannel) {
  cv::Mat img(2, 3, CV_8UC3, cv::Scalar(0, 0, 0));
  img.at<cv::Vec3b>(0, 0) = cv::Vec3b(255, 0, 128);
  img.at<cv::Vec3b>(1, 2) = cv::Vec3b(10, 20, 30);
  const torch::Tensor t = normalize_image(img);
  ASSERT_EQ(t.sizes(), (c10::IntArrayRef{3, 2, 3}));
  ASSERT_EQ(t.scalar_type(), torch::kFloat32);
  auto a = t.accessor<float, 3>();
  const double* mean = precision::kImageNetMean;
  const double* stdv = precision::kImageNetStd;
  EXPECT_FLOAT_EQ(a[0][0][0], static_cast<float>((1.0 - mean[0]) / stdv[0]));
  EXPECT_FLOAT_EQ(a[1][0][0], static_cast<float>((0.0 - mean[1]) / stdv[1]));
  EXPECT_FLOAT_EQ(a[2][0][0], static_cast<float>((128 / 255.0 - mean[2]) / stdv[2]));
  EXPECT_FLOAT_EQ(a[0][1][2], static_cast<float>((10 / 255.0 - mean[0]) / stdv[0]));
  EXPECT_FLOAT_EQ(a[1][1][2], static_cast<float>((20 / 255.0 - mean[1]) / stdv[1]));
  EXPECT_FLOAT_EQ(a[2][1][2], static_cast<float>((30 / 255.0 - mean[2]) / stdv[2]));
  EXPECT_THROW(normalize_image(cv::Mat(2, 2, CV_8UC1)), ShapeError);
}

TEST(NormalizeImage, AgreesWithTheBoundaryOnUint8) {
  // The dataset may store uint8 and let the boundary normalise (P4): both paths must give the same pixels.
  const cv::Mat img = random_image(17, 23, 3);
  const torch::Tensor ours = normalize_image(img);
  const torch::Tensor u8 = image_to_tensor_u8(img).unsqueeze(0);
  const torch::Tensor boundary = precision::conform_image(u8, precision::PrecisionPolicy()).squeeze(0);
  ASSERT_EQ(boundary.scalar_type(), torch::kFloat32);
  EXPECT_LT((ours - boundary).abs().max().item<double>(), 2e-6);
}

TEST(ImageToTensorU8, LayoutIsChwAndOwnsItsMemory) {
  for (auto [h, w] : {std::pair{1, 1}, std::pair{1, 5}, std::pair{4, 1}, std::pair{3, 7}}) {
    cv::Mat img = random_image(h, w, 4);
    const torch::Tensor t = image_to_tensor_u8(img);
    ASSERT_EQ(t.sizes(), (c10::IntArrayRef{3, h, w}));
    const auto a = t.accessor<uint8_t, 3>();
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) EXPECT_EQ(a[c][y][x], img.at<cv::Vec3b>(y, x)[c]);
    const uint8_t before = a[0][0][0];
    img.setTo(cv::Scalar::all(before ^ 0xff));  // the tensor must not alias the Mat
    const uint8_t after = t.accessor<uint8_t, 3>()[0][0][0];
    EXPECT_EQ(after, before);
  }
}

}  // namespace
}  // namespace amt::vision
