// Malformed DexYCB files: every parser throws a typed error naming the file (and the field).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "reference/core/error.hpp"
#include "reference/data/dexycb_reader.hpp"
#include "reference/data/tests/test_dataset.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/npz.hpp"

namespace amt::data {
namespace {

using testing::small_dataset;
using testing::TempDir;

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

template <typename Fn>
void expect_format_error(Fn fn, const std::string& file, const std::string& field) {
  try {
    fn();
    ADD_FAILURE() << "no FormatError for " << file << " [" << field << "]";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), file) << e.what();
    EXPECT_EQ(e.field(), field) << e.what();
  }
}

const std::string kMeta =
    "num_frames: 3\nycb_ids:\n- 2\n- 5\nycb_grasp_ind: 1\nmano_sides:\n- right\nmano_calib:\n- x_right\n";

TEST(Malformed, MetaYml) {
  TempDir dir("meta");
  const std::string f = dir / "meta.yml";
  write(f, kMeta);
  EXPECT_EQ(read_meta(f).ycb_ids, (std::vector<int64_t>{2, 5}));
  auto with = [&](const std::string& text) {
    write(f, text);
    return [f] { read_meta(f); };
  };
  expect_format_error(with("num_frames: [3\n"), f, "");      // not YAML
  expect_format_error(with("- 1\n- 2\n"), f, "num_frames");  // not a mapping
  expect_format_error(with("ycb_ids: [1]\nycb_grasp_ind: 0\nmano_sides: [right]\nmano_calib: [a]\n"), f,
                      "num_frames");
  expect_format_error(
      with("num_frames: three\nycb_ids: [1]\nycb_grasp_ind: 0\nmano_sides: [right]\nmano_calib: [a]\n"), f,
      "num_frames");
  expect_format_error(
      with("num_frames: 0\nycb_ids: [1]\nycb_grasp_ind: 0\nmano_sides: [right]\nmano_calib: [a]\n"), f,
      "num_frames");
  expect_format_error(
      with("num_frames: 1\nycb_ids: [1, x]\nycb_grasp_ind: 0\nmano_sides: [right]\nmano_calib: [a]\n"), f,
      "ycb_ids[1]");
  expect_format_error(
      with("num_frames: 1\nycb_ids: [22]\nycb_grasp_ind: 0\nmano_sides: [right]\nmano_calib: [a]\n"), f,
      "ycb_ids");
  expect_format_error(
      with("num_frames: 1\nycb_ids: 1\nycb_grasp_ind: 0\nmano_sides: [right]\nmano_calib: [a]\n"), f,
      "ycb_ids");
  expect_format_error(
      with("num_frames: 1\nycb_ids: [1]\nycb_grasp_ind: 1\nmano_sides: [right]\nmano_calib: [a]\n"), f,
      "ycb_grasp_ind");
  expect_format_error(
      with("num_frames: 1\nycb_ids: [1]\nycb_grasp_ind: 0\nmano_sides: [middle]\nmano_calib: [a]\n"), f,
      "mano_sides");
  expect_format_error(with("num_frames: 1\nycb_ids: [1]\nycb_grasp_ind: 0\nmano_sides: [right]\n"), f,
                      "mano_calib");
  EXPECT_THROW(read_meta(dir / "missing.yml"), IoError);
}

TEST(Malformed, IntrinsicsAndManoYml) {
  TempDir dir("calib");
  const std::string f = dir / "k.yml";
  auto with = [&](const std::string& text, bool mano = false) {
    write(f, text);
    return [f, mano] { mano ? (void)read_mano_betas(f) : (void)read_intrinsics(f); };
  };
  expect_format_error(with("depth: {fx: 1}\n"), f, "color");
  expect_format_error(with("color: {fx: 600, fy: 600, ppx: 320}\n"), f, "color.ppy");
  expect_format_error(with("color: {fx: -600, fy: 600, ppx: 320, ppy: 240}\n"), f, "color.fx");
  expect_format_error(with("color: {fx: 600, fy: .nan, ppx: 320, ppy: 240}\n"), f, "color.fy");
  expect_format_error(with("color: {fx: 600, fy: 600, ppx: abc, ppy: 240}\n"), f, "color.ppx");
  expect_format_error(with("betas: [1, 2, 3]\n", true), f, "betas");
  expect_format_error(with("betas: [1, 2, 3, 4, 5, 6, 7, 8, 9, z]\n", true), f, "betas[9]");
  expect_format_error(with("shape: [1]\n", true), f, "betas");
}

TEST(Malformed, LabelsNpz) {
  TempDir dir("labels");
  const std::string f = dir / "labels_000000.npz";
  const io::NpzArrays good = {{"seg", torch::zeros({480, 640}, torch::kByte)},
                              {"pose_y", torch::zeros({2, 3, 4})},
                              {"pose_m", torch::zeros({1, 51})},
                              {"joint_3d", torch::zeros({1, 21, 3})},
                              {"joint_2d", torch::zeros({1, 21, 2})}};
  auto with = [&](const std::string& name, const torch::Tensor& replacement) {
    io::NpzArrays a;
    for (const auto& [n, t] : good) {
      if (n != name)
        a.emplace_back(n, t);
      else if (replacement.defined())
        a.emplace_back(n, replacement);
    }
    io::write_npz(f, a);
    return [f] { read_labels(f, true, 2); };
  };
  with("none", torch::Tensor())();                                              // the good file reads
  expect_format_error(with("joint_3d", torch::Tensor()), f, "joint_3d");        // missing
  expect_format_error(with("joint_3d", torch::zeros({21, 3})), f, "joint_3d");  // shape
  expect_format_error(with("joint_2d", torch::zeros({1, 21, 2}, torch::kLong)), f, "joint_2d");  // dtype
  expect_format_error(with("pose_m", torch::full({1, 51}, NAN)), f, "pose_m");                   // non-finite
  expect_format_error(with("pose_y", torch::zeros({3, 3, 4})), f, "pose_y");  // count ≠ ycb_ids
  expect_format_error(with("pose_y", torch::zeros({2, 4, 4})), f, "pose_y");
  expect_format_error(with("seg", torch::zeros({480, 640}, torch::kShort)), f, "seg");
  expect_format_error(with("seg", torch::zeros({640, 480}, torch::kByte)), f, "seg");
  write(f, "PK\x03\x04 garbage that is not a zip archive at all......");
  expect_format_error([&] { read_labels(f); }, f, "");
  // f8 and f2 labels are accepted and become float32.
  io::write_npz(f, {{"pose_y", torch::zeros({2, 3, 4}, torch::kDouble)},
                    {"pose_m", torch::zeros({1, 51}, torch::kHalf)},
                    {"joint_3d", torch::full({1, 21, 3}, -1.0, torch::kDouble)},
                    {"joint_2d", torch::zeros({1, 21, 2})}});
  const FrameLabels l = read_labels(f, false, 2);
  EXPECT_EQ(l.joint_3d.scalar_type(), torch::kFloat32);
  EXPECT_EQ(l.pose_m.scalar_type(), torch::kFloat32);
  EXPECT_FALSE(labels_have_hand(l.joint_3d));
}

TEST(Malformed, ColorJpg) {
  TempDir dir("jpg");
  const std::string f = dir / "color_000000.jpg";
  write(f, "");
  expect_format_error([&] { read_color_image(f); }, f, "image");
  write(f, "\x89PNG\r\n\x1a\n not a jpeg");
  expect_format_error([&] { read_color_image(f); }, f, "image");
  write(f, std::string("\xFF\xD8\xFF\xE0") + std::string(100, 'x') + "\xFF\xD9");  // markers, garbage inside
  expect_format_error([&] { read_color_image(f); }, f, "image");
  EXPECT_THROW(read_color_image(dir / "missing.jpg"), IoError);
}

// Cutting a real colour image or labels file anywhere gives a FormatError naming it, never a half image.
RC_GTEST_PROP(MalformedProperty, TruncatedJpgAndNpzAreFormatErrors, ()) {
  const auto& d = small_dataset();
  const auto& frame = d.result.frames[*rc::gen::inRange<size_t>(0, d.result.frames.size())];
  const bool jpg = *rc::gen::arbitrary<bool>();
  const std::string src = join_path(d.root, jpg ? frame.color_file : frame.label_file);
  const std::string bytes = io::read_file_bytes(src);
  const auto cut = *rc::gen::inRange<size_t>(0, bytes.size());
  TempDir dir("cut");
  const std::string f = dir / (jpg ? "c.jpg" : "l.npz");
  write(f, bytes.substr(0, cut));
  try {
    if (jpg) {
      read_color_image(f);
    } else {
      read_labels(f, true);
    }
    RC_FAIL("a truncated file was read");
  } catch (const FormatError& e) {
    RC_ASSERT(e.file() == f);
  }
}

TEST(Malformed, ReaderNamesTheFileOfABrokenSample) {
  // A copy of one sequence of the generated dataset with a broken image and a broken label file.
  const auto& d = small_dataset();
  TempDir dir("broken");
  std::filesystem::copy(d.root, dir.path(), std::filesystem::copy_options::recursive);
  const DexYCBReader reader(dir.path(), DSetup::kS0, Split::kVal);
  ASSERT_GT(reader.size(), 1);
  const std::string color = join_path(dir.path(), reader.info(0).color_file);
  write(color, io::read_file_bytes(color).substr(0, 1000));
  expect_format_error([&] { reader.load(0); }, color, "image");
  const std::string label = join_path(dir.path(), reader.info(1).label_file);
  write(label, "junk");
  expect_format_error([&] { reader.load(1); }, label, "");
  // A missing calibration file is an IoError naming it, at construction.
  std::filesystem::remove(join_path(dir.path(), intrinsics_path(dexycb_serials()[2])));
  try {
    DexYCBReader(dir.path(), DSetup::kS0, Split::kVal);
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(e.file().find(dexycb_serials()[2]), std::string::npos);
  }
}

}  // namespace
}  // namespace amt::data
