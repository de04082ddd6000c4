// The hand crop: box, jitter, K and pixels by the crop map, the image (docs/vision.md §9). The random version
// of the K/pixel agreement is the property rect_grids.hand_crop in conformance/suites.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "reference/core/error.hpp"
#include "reference/precision/faults.hpp"
#include "reference/vision/hand_crop.hpp"

namespace amt::vision {
namespace {

torch::Tensor joints_in(double x_lo, double y_lo, double x_hi, double y_hi) {
  torch::Tensor uv = torch::zeros({21, 2}, torch::kFloat64);
  uv[0][0] = x_lo, uv[0][1] = y_lo, uv[1][0] = x_hi, uv[1][1] = y_hi;
  for (int j = 2; j < 21; ++j) uv[j][0] = 0.5 * (x_lo + x_hi), uv[j][1] = 0.5 * (y_lo + y_hi);
  return uv;
}

TEST(HandCrop, BoxIsTheJointsExtentSquaredAroundItsCentreTimesTheMargin) {
  HandCropSpec spec;
  spec.margin = 1.5;
  const CropBox b = hand_box(joints_in(100, 200, 140, 220), torch::ones({21}, torch::kBool), spec);
  EXPECT_DOUBLE_EQ(b.side, 60.0);  // 1.5 × the longer extent (40)
  EXPECT_DOUBLE_EQ(b.centre_x(), 120.0);
  EXPECT_DOUBLE_EQ(b.centre_y(), 210.0);
}

TEST(HandCrop, InvalidJointsDoNotWidenTheBoxAndNoValidJointIsAnError) {
  HandCropSpec spec;
  torch::Tensor uv = joints_in(100, 200, 140, 220);
  uv[5][0] = -1000;  // an invalid joint far away
  torch::Tensor valid = torch::ones({21}, torch::kBool);
  valid[5] = false;
  EXPECT_DOUBLE_EQ(hand_box(uv, valid, spec).side, 60.0);
  EXPECT_THROW(hand_box(uv, torch::zeros({21}, torch::kBool), spec), ValueError);
  EXPECT_THROW(hand_box(uv.view({42}), valid, spec), ShapeError);
}

TEST(HandCrop, MinSideKeepsATinyHandsBoxOpen) {
  HandCropSpec spec;
  spec.min_side = 16;
  EXPECT_DOUBLE_EQ(hand_box(joints_in(10, 10, 11, 11), torch::ones({21}, torch::kBool), spec).side, 16.0);
}

TEST(HandCrop, JitterMovesTheCentreAndScalesTheSideWithinTheSpec) {
  HandCropSpec spec;
  spec.jitter_shift = 0.1;
  spec.jitter_scale = 0.2;
  const CropBox b{0, 0, 100};
  const CropBox j = jitter_box(b, spec, 1.0, -1.0, 1.0);
  EXPECT_DOUBLE_EQ(j.side, 120.0);
  EXPECT_DOUBLE_EQ(j.centre_x(), 60.0);
  EXPECT_DOUBLE_EQ(j.centre_y(), 40.0);
  const CropBox none = jitter_box(b, spec, 0, 0, 0);
  EXPECT_DOUBLE_EQ(none.x0, 0);
  EXPECT_DOUBLE_EQ(none.side, 100);
}

TEST(HandCrop, CroppedKMovesThePrincipalPointByTheBoxAndScalesEverything) {
  const Intrinsics K{600, 610, 320, 240, 0};
  const CropBox box{99.5, 149.5, 50};  // pixels 100..149, 150..199
  const Intrinsics c = crop_intrinsics(K, box, 100);
  EXPECT_DOUBLE_EQ(c.fx, 1200);
  EXPECT_DOUBLE_EQ(c.fy, 1220);
  EXPECT_DOUBLE_EQ(c.cx, (320 - 99.5) * 2 - 0.5);
  EXPECT_DOUBLE_EQ(c.cy, (240 - 149.5) * 2 - 0.5);
  // The box's first pixel centre (100, 150) is the crop's pixel (0.5, 0.5) at twice the size.
  const torch::Tensor p = crop_pixels(torch::tensor({100.0, 150.0}, torch::kFloat64), box, 100);
  EXPECT_DOUBLE_EQ(p[0].item<double>(), 0.5);
  EXPECT_DOUBLE_EQ(p[1].item<double>(), 0.5);
}

TEST(HandCrop, TheClassicSlipKeepsThePrincipalPointAndMissesTheHand) {
  const Intrinsics K{600, 600, 320, 240, 0};
  const CropBox box{399.5, 99.5, 64};
  const Intrinsics right = crop_intrinsics(K, box, 64);
  ScopedFault fault("vision.crop_keeps_principal_point");
  const Intrinsics slipped = crop_intrinsics(K, box, 64);
  EXPECT_NEAR(std::abs(slipped.cx - right.cx), 400.0, 1e-9);  // off by the box offset
}

TEST(HandCrop, TensorKAgreesWithTheStructAndKeepsItsDtype) {
  const Intrinsics K{500, 520, 300, 200, 0.5};
  const CropBox box{120.25, 80.75, 77.5};
  const torch::Tensor Kt = crop_intrinsics(intrinsics_matrix(K, torch::kFloat32), box, 112);
  EXPECT_EQ(Kt.scalar_type(), torch::kFloat32);
  const Intrinsics c = crop_intrinsics(K, box, 112);
  EXPECT_TRUE(torch::allclose(Kt.to(torch::kFloat64), intrinsics_matrix(c), 1e-6, 1e-4));
}

TEST(HandCrop, ImageCropPutsEachSourcePixelWhereTheMapSays) {
  // A source with one bright pixel; a crop at the same scale (σ = 1) is a pure shift by the box.
  cv::Mat src(100, 120, CV_8UC1, cv::Scalar(0));
  src.at<uint8_t>(40, 70) = 200;
  const CropBox box{59.5, 29.5, 32};
  const cv::Mat out = crop_image(src, box, 32);
  ASSERT_EQ(out.rows, 32);
  EXPECT_EQ(out.at<uint8_t>(10, 10), 200);  // (70 − 59.5)·1 − 0.5 = 10
  EXPECT_EQ(cv::countNonZero(out), 1);
}

TEST(HandCrop, OutsideTheSourceIsBlackAndLargeBoxesAreAreaAveraged) {
  cv::Mat src(20, 20, CV_8UC3, cv::Scalar(100, 150, 200));
  const cv::Mat out = crop_image(src, CropBox{-20.5, -0.5, 40}, 20);
  // The box spans 40 source pixels each way from (−20.5, −0.5): output pixel (row r, column c) averages
  // source rows 2r, 2r + 1 and columns 2c − 20, 2c − 19.
  EXPECT_EQ(out.at<cv::Vec3b>(2, 2), cv::Vec3b(0, 0, 0));         // left of the source
  EXPECT_EQ(out.at<cv::Vec3b>(2, 15), cv::Vec3b(100, 150, 200));  // inside it, averaged
  EXPECT_EQ(out.at<cv::Vec3b>(15, 15), cv::Vec3b(0, 0, 0));       // below it
  EXPECT_THROW(crop_image(cv::Mat(), CropBox{0, 0, 1}, 8), ShapeError);
  EXPECT_THROW(crop_image(src, CropBox{0, 0, 0}, 8), ValueError);
}

TEST(HandCrop, SpecChecksNameTheField) {
  HandCropSpec s;
  s.margin = 0.5;
  try {
    check_hand_crop(s);
    FAIL() << "margin < 1 accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("margin"), std::string::npos) << e.what();
  }
  s = HandCropSpec{};
  s.jitter_shift = 0.5;
  EXPECT_THROW(check_hand_crop(s), ConfigError);
}

}  // namespace
}  // namespace amt::vision
