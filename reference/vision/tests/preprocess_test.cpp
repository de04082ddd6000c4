// Image decoding and the one-call per-image pipeline (what the dataset and `amt_conformance resize` run).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "conformance/testing/scratch_dir.hpp"
#include "reference/core/error.hpp"
#include "reference/vision/dynamic_resize.hpp"
#include "reference/vision/image_io.hpp"
#include "reference/vision/preprocess.hpp"

namespace amt::vision {
namespace {

std::vector<uint8_t> encode(const cv::Mat& bgr, const std::string& ext) {
  std::vector<uint8_t> out;
  cv::imencode(ext, bgr, out);
  return out;
}

TEST(DecodeImage, PngIsExactAndChannelsAreRgb) {
  cv::Mat bgr(3, 4, CV_8UC3, cv::Scalar(10, 20, 30));  // OpenCV order: B=10, G=20, R=30
  bgr.at<cv::Vec3b>(2, 3) = cv::Vec3b(1, 2, 3);
  const cv::Mat rgb = decode_image(encode(bgr, ".png"), "x.png");
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(30, 20, 10));
  EXPECT_EQ(rgb.at<cv::Vec3b>(2, 3), cv::Vec3b(3, 2, 1));
}

TEST(DecodeImage, GreyBecomesRgbAndJpegDecodes) {
  const cv::Mat grey(8, 8, CV_8UC1, cv::Scalar(77));
  const cv::Mat rgb = decode_image(encode(grey, ".png"), "g.png");
  EXPECT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(rgb.at<cv::Vec3b>(5, 5), cv::Vec3b(77, 77, 77));
  const cv::Mat jpeg =
      decode_image(encode(cv::Mat(48, 64, CV_8UC3, cv::Scalar(0, 128, 255)), ".jpg"), "c.jpg");
  EXPECT_EQ(jpeg.rows, 48);
  EXPECT_EQ(jpeg.cols, 64);
  EXPECT_NEAR(jpeg.at<cv::Vec3b>(20, 20)[0], 255, 3);  // red (was B=0, G=128, R=255)
  EXPECT_NEAR(jpeg.at<cv::Vec3b>(20, 20)[2], 0, 3);
}

TEST(DecodeImage, BadInputIsATypedErrorNamingTheFile) {
  try {
    decode_image({'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'}, "bad.jpg");
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), "bad.jpg");
  }
  EXPECT_THROW(decode_image({}, "empty.png"), FormatError);
  std::vector<uint8_t> truncated = encode(cv::Mat(32, 32, CV_8UC3, cv::Scalar(1, 2, 3)), ".png");
  truncated.resize(20);
  EXPECT_THROW(decode_image(truncated, "cut.png"), FormatError);
  EXPECT_THROW(read_image("/nonexistent/dir/image.png"), IoError);
}

TEST(ReadImage, ReadsAFile) {
  const ScratchDir scratch;
  const std::string path = scratch.file("image.png");
  const std::vector<uint8_t> bytes = encode(cv::Mat(5, 7, CV_8UC3, cv::Scalar(9, 8, 7)), ".png");
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const cv::Mat rgb = read_image(path);
  std::remove(path.c_str());
  EXPECT_EQ(rgb.at<cv::Vec3b>(4, 6), cv::Vec3b(7, 8, 9));
}

TEST(Preprocess, EndToEndOnA640x480Frame) {
  cv::Mat rgb(480, 640, CV_8UC3, cv::Scalar(0, 0, 0));
  const Intrinsics K{615.0, 612.0, 319.5, 239.5, 0.0};
  const Preprocessed p = preprocess_image(rgb, K, 14, 2, 448, true);
  EXPECT_EQ(p.original_size, (ImageSize{480, 640}));
  EXPECT_EQ(p.grid, make_image_grid(336, 448, 14, 2));  // 448 × 336, Hp×Wp = 24×32, Gh×Gw = 12×16
  EXPECT_EQ(p.pixel_values.sizes(), (c10::IntArrayRef{3, 336, 448}));
  EXPECT_EQ(p.pixel_values.scalar_type(), torch::kFloat32);
  EXPECT_EQ(p.K.scalar_type(), torch::kFloat32);
  EXPECT_DOUBLE_EQ(p.scale_x, 0.7);
  EXPECT_DOUBLE_EQ(p.scale_y, 0.7);
  EXPECT_DOUBLE_EQ(p.intrinsics.cx, 223.5);  // (319.5 + 0.5)·0.7 − 0.5
  EXPECT_FLOAT_EQ(p.K[0][2].item<float>(), 223.5f);
  EXPECT_FLOAT_EQ(p.K[1][1].item<float>(), 612.0f * 0.7f);
  const ImageSample s = make_image_sample(p, 42, true, {{"joint_3d", torch::zeros({21, 3})}});
  EXPECT_EQ(s.id, 42);
  EXPECT_NO_THROW(validate_sample(s));
  EXPECT_THROW(preprocess_image(rgb, K, 14, 2, 450, true), ConfigError);
  EXPECT_THROW(preprocess_image(rgb, K, 0, 2, 448, true), ConfigError);
  EXPECT_THROW(preprocess_image(cv::Mat(4, 4, CV_8UC1), K, 14, 1, 448, true), ShapeError);
}

}  // namespace
}  // namespace amt::vision
