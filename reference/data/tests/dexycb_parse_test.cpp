// The in-memory DexYCB parsers (what read_meta / read_intrinsics / read_mano_betas call, and what the fuzzer
// drives) and the ceilings they enforce: a damaged meta.yml cannot size the index, a JPEG header cannot size
// the decode.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <string>

#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"
#include "reference/data/dexycb_layout.hpp"

namespace amt::data {
namespace {

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

const char* kMeta =
    "num_frames: 72\nycb_ids:\n- 2\n- 14\nycb_grasp_ind: 1\nmano_sides:\n- right\nmano_calib:\n- 20200709\n";

TEST(DexycbParse, MetaTextParsesLikeTheFile) {
  const SequenceMeta m = parse_meta(kMeta, "meta.yml");
  EXPECT_EQ(m.num_frames, 72);
  EXPECT_EQ(m.ycb_ids, (std::vector<int64_t>{2, 14}));
  EXPECT_EQ(m.ycb_grasp_ind, 1);
  EXPECT_EQ(parse_meta(format_meta(m), "again.yml").mano_calib, m.mano_calib);
}

// num_frames sized the index (8 cameras × frames references): 10^12 frames asked for 96 TB of index.
TEST(DexycbParse, NumFramesAboveTheCeilingIsAFormatErrorNamingTheField) {
  std::string text = kMeta;
  text.replace(text.find("72"), 2, "1000000000000");
  try {
    parse_meta(text, "s/seq/meta.yml");
    FAIL() << "no error";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), "s/seq/meta.yml");
    EXPECT_EQ(e.field(), "num_frames");
    EXPECT_TRUE(has(e.what(), "must be in 1..100000, got 1000000000000")) << e.what();
  }
}

TEST(DexycbParse, IntrinsicsAndBetasTextParse) {
  const ColorIntrinsics K =
      parse_intrinsics("color:\n  fx: 615.5\n  fy: 616.0\n  ppx: 320.0\n  ppy: 240.5\n", "k.yml");
  EXPECT_EQ(K.fx, 615.5);
  EXPECT_EQ(K.ppy, 240.5);
  try {
    parse_intrinsics("color:\n  fx: .nan\n  fy: 1\n  ppx: 0\n  ppy: 0\n", "k.yml");
    FAIL() << "no error";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.field(), "color.fx");
  }
  EXPECT_EQ(parse_mano_betas(format_mano_betas(std::vector<float>(10, 0.5f)), "mano.yml").size(), 10u);
  EXPECT_THROW(parse_mano_betas("betas: [1, 2]\n", "mano.yml"), FormatError);
  EXPECT_THROW(parse_meta("{[", "meta.yml"), FormatError);
}

TEST(DexycbParse, AColourJpegDeclaringAHugeImageIsALimitError) {
  std::vector<uint8_t> bytes;
  cv::imencode(".jpg", cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)), bytes);
  size_t sof = 2;
  while (sof + 4 < bytes.size() && !(bytes[sof] == 0xFF && bytes[sof + 1] == 0xC0)) {
    sof += 2 + ((bytes[sof + 2] << 8) | bytes[sof + 3]);
  }
  ASSERT_LT(sof + 9, bytes.size());
  bytes[sof + 5] = 0xFF;  // height 65535
  bytes[sof + 6] = 0xFF;
  try {
    decode_color_image(std::string(bytes.begin(), bytes.end()), "color_000000.jpg");
    FAIL() << "no error";
  } catch (const LimitError& e) {
    EXPECT_TRUE(has(e.what(), "color_000000.jpg: image header: 65535x8 exceeds the image-side ceiling"))
        << e.what();
  }
}

}  // namespace
}  // namespace amt::data
