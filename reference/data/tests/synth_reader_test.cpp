// A generated dataset read back through the DexYCB reader: labels exact, images decodable and consistent with
// the labels, splits as the rules say, no-hand frames marked invalid.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "reference/core/error.hpp"
#include "reference/data/dexycb_reader.hpp"
#include "reference/data/tests/test_dataset.hpp"
#include "reference/io/file_bytes.hpp"

namespace amt::data {
namespace {

using testing::small_dataset;
using testing::TempDir;

std::map<std::string, const SynthFrame*> frames_by_label_file() {
  std::map<std::string, const SynthFrame*> out;
  for (const auto& f : small_dataset().result.frames) out[f.label_file] = &f;
  return out;
}

TEST(SynthReader, EveryLabelRoundTripsExactlyAndEveryImageDecodes) {
  const auto& d = small_dataset();
  ASSERT_EQ(d.result.images, 120);
  ASSERT_EQ(d.result.frames.size(), 120u);
  const auto written = frames_by_label_file();
  std::set<std::string> seen;
  int64_t no_hand = 0;
  for (Split split : all_splits()) {
    const DexYCBReader reader(d.root, DSetup::kS0, split);
    for (int64_t i = 0; i < reader.size(); ++i) {
      LoadOptions opt;
      opt.seg = true;
      const Sample s = reader.load(i, opt);
      ASSERT_TRUE(seen.insert(s.info.label_file).second) << "sample in two s0 splits: " << s.info.label_file;
      const SynthFrame& w = *written.at(s.info.label_file);
      EXPECT_EQ(s.info.color_file, w.color_file);
      ASSERT_EQ(s.image.rows, 480);
      ASSERT_EQ(s.image.cols, 640);
      ASSERT_EQ(s.image.type(), CV_8UC3);
      // Raw arrays: bit-exact float32.
      const FrameLabels raw = read_labels(join_path(d.root, s.info.label_file), true);
      EXPECT_TRUE(torch::equal(raw.joint_3d, w.labels.joint_3d));
      EXPECT_TRUE(torch::equal(raw.joint_2d, w.labels.joint_2d));
      EXPECT_TRUE(torch::equal(raw.pose_m, w.labels.pose_m));
      EXPECT_TRUE(torch::equal(raw.pose_y, w.labels.pose_y));
      EXPECT_TRUE(torch::equal(raw.seg, w.labels.seg));
      EXPECT_TRUE(torch::equal(s.pose_y, w.labels.pose_y));
      EXPECT_TRUE(torch::equal(s.pose_m, w.labels.pose_m[0]));
      EXPECT_TRUE(torch::equal(s.grasped_pose, w.labels.pose_y[s.grasp_index]));
      EXPECT_EQ(s.grasped_ycb_id, s.ycb_ids[static_cast<size_t>(s.grasp_index)]);
      EXPECT_EQ(s.has_hand, w.has_hand);
      // K is exactly the generator's, per camera.
      const ColorIntrinsics& K = d.result.intrinsics.at(s.info.serial_index);
      EXPECT_EQ(s.intrinsics.fx, K.fx);
      EXPECT_EQ(s.intrinsics.ppy, K.ppy);
      EXPECT_TRUE(torch::equal(s.K, K.matrix()));
      if (w.has_hand) {
        EXPECT_TRUE(torch::equal(s.joint_3d, w.labels.joint_3d[0]));
        EXPECT_TRUE(torch::equal(s.joint_2d, w.labels.joint_2d[0]));
        EXPECT_TRUE(s.joint_valid.all().item<bool>());
      } else {
        ++no_hand;
        // Invalid, and never the −1 sentinel as a target.
        EXPECT_TRUE((raw.joint_3d == -1).all().item<bool>());
        EXPECT_FALSE(s.joint_valid.any().item<bool>());
        EXPECT_TRUE((s.joint_3d == 0).all().item<bool>());
        EXPECT_TRUE((s.joint_2d == 0).all().item<bool>());
        EXPECT_FALSE((s.seg == kSegHand).any().item<bool>());
      }
    }
  }
  EXPECT_EQ(seen.size(), 120u);  // s0 train + val + test = everything
  // 15 scene frames → round(1.5) = 2 without a hand, seen by all 8 cameras.
  EXPECT_EQ(no_hand, 16);
  EXPECT_EQ(d.result.no_hand_images, 16);
}

TEST(SynthReader, PixelsAgreeWithTheLabels) {
  // Every projected joint of a frame with a hand lands on hand pixels of the mask (the skeleton is drawn on
  // top), joints are in front of the camera and inside the image, and the image there is not the background.
  const auto& d = small_dataset();
  int64_t checked = 0;
  for (const auto& w : d.result.frames) {
    if (!w.has_hand) continue;
    const auto j3 = w.labels.joint_3d[0];
    const auto j2 = w.labels.joint_2d[0];
    ASSERT_TRUE((j3.select(1, 2) > 0.2).all().item<bool>()) << w.label_file;
    for (int j = 0; j < kNumJoints; ++j) {
      const float u = j2[j][0].item<float>(), v = j2[j][1].item<float>();
      ASSERT_TRUE(u >= 0 && u < 640 && v >= 0 && v < 480) << w.label_file << " joint " << j;
      EXPECT_EQ(w.labels.seg[static_cast<int64_t>(std::lround(v))][static_cast<int64_t>(std::lround(u))]
                    .item<uint8_t>(),
                kSegHand)
          << w.label_file << " joint " << j;
      ++checked;
    }
    // joint_2d is the projection of joint_3d with the camera's K (pixel units, float32 rounding only).
    const int serial =
        serial_index(w.label_file.substr(w.label_file.find('/', w.label_file.find('/') + 1) + 1, 12));
    const torch::Tensor K = d.result.intrinsics.at(serial).matrix().to(torch::kFloat64);
    const torch::Tensor h = torch::matmul(j3.to(torch::kFloat64), K.t());
    const torch::Tensor uv = h.narrow(1, 0, 2) / h.narrow(1, 2, 1);
    EXPECT_LT((uv - j2.to(torch::kFloat64)).abs().max().item<double>(), 1e-3) << w.label_file;
  }
  EXPECT_EQ(checked, 13 * 8 * 21);
}

TEST(SynthReader, ObjectsAppearInTheMaskWithTheirIds) {
  const auto& d = small_dataset();
  int64_t with_objects = 0;
  for (const auto& w : d.result.frames) {
    const torch::Tensor ids = std::get<0>(torch::_unique(w.labels.seg));
    for (int64_t k = 0; k < ids.size(0); ++k) {
      const int v = ids[k].item<uint8_t>();
      EXPECT_TRUE(v == 0 || v == kSegHand || (v >= 1 && v <= kNumYcbClasses)) << v;
      if (v >= 1 && v <= kNumYcbClasses) ++with_objects;
    }
  }
  EXPECT_GT(with_objects, 100);
}

TEST(SynthReader, OtherSetupsFollowTheirRules) {
  const auto& d = small_dataset();
  // s1: subject 0 trains, 6 validates, 7 tests.
  for (auto [split, subject] :
       {std::pair{Split::kTrain, 0}, std::pair{Split::kVal, 6}, std::pair{Split::kTest, 7}}) {
    const DexYCBReader r(d.root, DSetup::kS1, split);
    ASSERT_EQ(r.size(), 40);
    for (const auto& seq : r.sequences()) EXPECT_EQ(seq.subject_index, subject);
  }
  // s2: cameras 0–5 / 6 / 7 of every sequence.
  EXPECT_EQ(DexYCBReader(d.root, DSetup::kS2, Split::kTrain).size(), 90);
  EXPECT_EQ(DexYCBReader(d.root, DSetup::kS2, Split::kVal).size(), 15);
  EXPECT_EQ(DexYCBReader(d.root, DSetup::kS2, Split::kTest).size(), 15);
  // s3: positions 0..4 are all in group 0 → everything trains.
  EXPECT_EQ(DexYCBReader(d.root, DSetup::kS3, Split::kTrain).size(), 120);
  EXPECT_EQ(DexYCBReader(d.root, DSetup::kS3, Split::kVal).size(), 0);
  // s0 val: subject 0, position 4, cameras in toolkit order, frame 0.
  const DexYCBReader val(d.root, DSetup::kS0, Split::kVal);
  ASSERT_EQ(val.size(), 8);
  for (int64_t i = 0; i < 8; ++i) {
    EXPECT_EQ(val.info(i).serial, dexycb_serials()[static_cast<size_t>(i)]);
    EXPECT_EQ(val.sequences()[0].position, 4);
  }
  EXPECT_EQ(val.sequences()[0].betas.size(), 10u);
}

TEST(SynthReader, OutputIsAPureFunctionOfTheOptions) {
  SynthOptions o;
  o.subjects = {3};
  o.sequences = 1;
  o.frames = 1;
  o.seed = 99;
  o.keep_labels = false;
  TempDir a("det_a"), b("det_b");
  synthesize_dexycb(a.path(), o);
  o.threads = 3;
  synthesize_dexycb(b.path(), o);
  int64_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(a.path())) {
    if (!e.is_regular_file()) continue;
    const std::string rel = std::filesystem::relative(e.path(), a.path()).string();
    EXPECT_EQ(io::read_file_bytes(e.path().string()), io::read_file_bytes(b / rel)) << rel;
    ++files;
  }
  EXPECT_EQ(files, 8 + 8 + 1 + 8 + 2 + 1);  // 8 jpg, 8 npz, meta, 8 intrinsics, 2 mano, extrinsics
  o.seed = 100;
  TempDir c("det_c");
  synthesize_dexycb(c.path(), o);
  EXPECT_NE(io::read_file_bytes(a / intrinsics_path(dexycb_serials()[0])),
            io::read_file_bytes(c / intrinsics_path(dexycb_serials()[0])));
}

TEST(SynthReader, InvalidOptionsAreConfigErrors) {
  TempDir dir("badopt");
  SynthOptions o;
  o.subjects = {10};
  EXPECT_THROW(synthesize_dexycb(dir.path(), o), ConfigError);
  o.subjects = {1, 1};
  EXPECT_THROW(synthesize_dexycb(dir.path(), o), ConfigError);
  o.subjects = {1};
  o.sequences = 101;
  EXPECT_THROW(synthesize_dexycb(dir.path(), o), ConfigError);
  o.sequences = 1;
  o.frames = 0;
  EXPECT_THROW(synthesize_dexycb(dir.path(), o), ConfigError);
}

}  // namespace
}  // namespace amt::data
