// The vision path under the ceilings (reference/core/limits.hpp): resize targets, patch tokens, pixel bytes
// and decoded image sides are refused with a one-line amt::LimitError before anything is allocated; the
// products of user-given sizes are overflow-checked.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "reference/core/limits.hpp"
#include "reference/vision/dynamic_resize.hpp"
#include "reference/vision/image_grid.hpp"
#include "reference/vision/image_io.hpp"
#include "reference/vision/pixel_shuffle.hpp"
#include "reference/vision/preprocess.hpp"

namespace amt::vision {
namespace {

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

cv::Mat small_rgb() {
  cv::Mat m(16, 24, CV_8UC3, cv::Scalar(10, 200, 30));
  return m;
}

std::vector<uint8_t> encode(const cv::Mat& rgb, const char* ext) {
  std::vector<uint8_t> out;
  cv::imencode(ext, rgb, out);
  return out;
}

// A small JPEG whose baseline frame header (at *sof_at, when given) is rewritten to claim 60000 × 60000;
// empty if it has no SOF0.
std::vector<uint8_t> jpeg_declaring_60000_square(size_t* sof_at = nullptr) {
  std::vector<uint8_t> bytes = encode(small_rgb(), ".jpg");
  size_t sof = 2;
  while (sof + 4 < bytes.size() && !(bytes[sof] == 0xFF && bytes[sof + 1] == 0xC0)) {
    sof += 2 + ((bytes[sof + 2] << 8) | bytes[sof + 3]);
  }
  if (sof + 9 >= bytes.size()) return {};
  for (size_t at : {sof + 5, sof + 7}) {
    bytes[at] = 60000 >> 8;
    bytes[at + 1] = 60000 & 0xff;
  }
  if (sof_at) *sof_at = sof;
  return bytes;
}

// The example: `resize --patch 100000 --max-side 100000` asked for a 30 GB image.
TEST(LimitsVision, AMaxSideAboveTheCeilingIsALimitError) {
  try {
    preprocess_image(small_rgb(), {500, 500, 12, 8}, 100000, 1, 100000, true);
    FAIL() << "no error";
  } catch (const LimitError& e) {
    EXPECT_EQ(std::string(e.what()),
              "dynamic resize: max_side 100000 exceeds the image-side ceiling 8192 (AMT_MAX_IMAGE_SIDE)");
  }
  EXPECT_THROW(check_resize_config(14, 14 * 586), LimitError);
  EXPECT_NO_THROW(check_resize_config(16, 8192));
}

TEST(LimitsVision, PixelBytesAboveTheCeilingAreRefusedBeforeResizing) {
  ScopedLimits scope({100000, int64_t{1} << 40, int64_t{4} << 30});
  try {
    preprocess_image(small_rgb(), {500, 500, 12, 8}, 100000, 1, 100000, true);
    FAIL() << "no error";
  } catch (const LimitError& e) {
    EXPECT_TRUE(has(e.what(), "pixel_values [3, 100000x100000] float32: 120000000000 bytes")) << e.what();
  }
}

TEST(LimitsVision, PatchTimesShuffleIsOverflowChecked) {
  try {
    preprocess_image(small_rgb(), {500, 500, 12, 8}, int64_t{1} << 62, 4, 224, true);
    FAIL() << "no error";
  } catch (const ValueError& e) {
    EXPECT_TRUE(has(e.what(), "patch × shuffle")) << e.what();
  }
}

TEST(LimitsVision, TokensAboveTheCeilingAreALimitError) {
  ScopedLimits scope({8192, 24, int64_t{4} << 30});
  EXPECT_NO_THROW(make_image_grid(56, 84, 14, 1));  // 4 × 6 = 24 tokens
  try {
    make_image_grid(70, 84, 14, 1);  // 5 × 6 = 30
    FAIL() << "no error";
  } catch (const LimitError& e) {
    EXPECT_TRUE(has(e.what(), "image grid of 70x84 at patch 14: 30 patch tokens exceed the ceiling 24"))
        << e.what();
  }
}

TEST(LimitsVision, ShuffleGridProductsAreOverflowChecked) {
  const torch::Tensor x = torch::zeros({1, 4, 2});
  const int64_t big = int64_t{1} << 40;
  EXPECT_THROW(pixel_shuffle_2d(x, big, big, 1), ValueError);
  EXPECT_THROW(pixel_unshuffle_2d(x, big, big, 1), ValueError);
}

TEST(LimitsVision, PeekReadsJpegAndPngSizesWithoutDecoding) {
  for (const char* ext : {".jpg", ".png"}) {
    const std::vector<uint8_t> bytes = encode(small_rgb(), ext);
    const auto size = peek_image_size(bytes.data(), bytes.size());
    ASSERT_TRUE(size.has_value()) << ext;
    EXPECT_EQ(*size, (ImageSize{16, 24})) << ext;
  }
  const std::vector<uint8_t> bmp = encode(small_rgb(), ".bmp");
  EXPECT_FALSE(peek_image_size(bmp.data(), bmp.size()).has_value());
  const uint8_t truncated[] = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08};
  EXPECT_FALSE(peek_image_size(truncated, sizeof(truncated)).has_value());
}

// A small JPEG whose frame header claims 60000 × 60000 (10.8 GB decoded) is refused from the header.
TEST(LimitsVision, AJpegDeclaringAHugeImageIsALimitErrorBeforeDecoding) {
  std::vector<uint8_t> bytes = jpeg_declaring_60000_square();
  ASSERT_FALSE(bytes.empty());
  try {
    decode_image(bytes, "huge.jpg");
    FAIL() << "no error";
  } catch (const LimitError& e) {
    EXPECT_EQ(std::string(e.what()),
              "huge.jpg: image header: 60000x60000 exceeds the image-side ceiling 8192 (AMT_MAX_IMAGE_SIDE)");
  }
}

// Found by fuzz_image: junk bytes between two segments made the peek give up, while libjpeg skips them (with
// a warning) and allocated the 63230 × 10271 frame the next header declared (1.9 GB from a 125-byte file).
TEST(LimitsVision, AHugeFrameHeaderAfterJunkBytesIsStillALimitError) {
  size_t sof = 0;
  std::vector<uint8_t> bytes = jpeg_declaring_60000_square(&sof);
  ASSERT_FALSE(bytes.empty());
  // Junk bytes, and (second finding) a segment whose length field is 0, before the frame header.
  for (const std::vector<uint8_t>& before : {std::vector<uint8_t>{0x81, 0x4E}, {0xFF, 0xE1, 0x00, 0x00}}) {
    std::vector<uint8_t> damaged = bytes;
    damaged.insert(damaged.begin() + static_cast<std::ptrdiff_t>(sof), before.begin(), before.end());
    const auto size = peek_image_size(damaged.data(), damaged.size());
    ASSERT_TRUE(size.has_value());
    EXPECT_EQ(*size, (ImageSize{60000, 60000}));
    EXPECT_THROW(decode_image(damaged, "junk.jpg"), LimitError);
  }
}

TEST(LimitsVision, DecodedImagesAboveTheCeilingAreRefused) {
  const std::vector<uint8_t> bmp = encode(small_rgb(), ".bmp");  // no header peek for BMP
  ScopedLimits scope({20, 65536, int64_t{4} << 30});
  try {
    decode_image(bmp, "wide.bmp");
    FAIL() << "no error";
  } catch (const LimitError& e) {
    EXPECT_TRUE(has(e.what(), "wide.bmp: decoded image: 16x24 exceeds the image-side ceiling 20"))
        << e.what();
  }
}

}  // namespace
}  // namespace amt::vision
