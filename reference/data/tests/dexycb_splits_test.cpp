// The reader's index against the DexYCB toolkit's rules, on a full-size skeleton tree (directories, meta.yml
// and calibration files only: the index never opens images or labels).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "reference/core/error.hpp"
#include "reference/data/dexycb_reader.hpp"
#include "reference/data/tests/test_dataset.hpp"

namespace amt::data {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

// Frames per sequence vary (1..3) so that order mistakes show up as wrong frame numbers.
int64_t frames_of(int subject, int position) {
  return 1 + (subject * 7 + position * 3) % 3;
}

// A complete DexYCB tree without images: 10 subjects × 100 sequences × 8 camera directories.
void write_skeleton(const std::string& root, const std::vector<int>& subjects, int sequences) {
  for (int c = 0; c < kNumSerials; ++c) {
    write(join_path(root, intrinsics_path(dexycb_serials()[static_cast<size_t>(c)])),
          format_intrinsics({600.0 + c, 601.0 + c, 320.5, 240.25}));
  }
  write(join_path(root, mano_calib_path("calib")), format_mano_betas(std::vector<float>(10, 0.5f)));
  for (int s : subjects) {
    const std::string& subject = dexycb_subjects()[static_cast<size_t>(s)];
    for (int i = 0; i < sequences; ++i) {
      // Names whose sorted order is the position order, but not by construction order of the filesystem.
      const std::string name = subject.substr(0, 8) + "_" + std::to_string(100000 + i * 97);
      SequenceMeta m;
      m.num_frames = frames_of(s, i);
      m.ycb_ids = {1 + (i % 21)};
      m.mano_sides = {"right"};
      m.mano_calib = {"calib"};
      write(join_path(root, meta_path(subject, name)), format_meta(m));
      for (const auto& serial : dexycb_serials())
        fs::create_directories(join_path(root, subject + "/" + name + "/" + serial));
    }
  }
}

// The toolkit's tables, written out independently of dexycb_splits.cpp.
struct Rule {
  std::vector<int> subjects, serials;
  std::function<bool(int)> sequence;
};
Rule toolkit_rule(const std::string& setup, const std::string& split) {
  const std::vector<int> all10 = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, all8 = {0, 1, 2, 3, 4, 5, 6, 7};
  auto any = [](int) { return true; };
  if (setup == "s0") {
    if (split == "train") return {all10, all8, [](int i) { return i % 5 != 4; }};
    if (split == "val") return {{0, 1}, all8, [](int i) { return i % 5 == 4; }};
    return {{2, 3, 4, 5, 6, 7, 8, 9}, all8, [](int i) { return i % 5 == 4; }};
  }
  if (setup == "s1") {
    if (split == "train") return {{0, 1, 2, 3, 4, 5, 9}, all8, any};
    if (split == "val") return {{6}, all8, any};
    return {{7, 8}, all8, any};
  }
  if (setup == "s2") {
    if (split == "train") return {all10, {0, 1, 2, 3, 4, 5}, any};
    if (split == "val") return {all10, {6}, any};
    return {all10, {7}, any};
  }
  auto group = [](std::set<int> g) { return [g](int i) { return g.count(i / 5) != 0; }; };
  if (split == "train")
    return {all10, all8, [](int i) { return !std::set<int>{3, 7, 11, 15, 19}.count(i / 5); }};
  if (split == "val") return {all10, all8, group({3, 19})};
  return {all10, all8, group({7, 11, 15})};
}

// The toolkit's enumeration: for subject, for sequence (sorted, filtered by position), for camera, for frame.
std::vector<std::string> toolkit_order(const std::string& root, const std::string& setup,
                                       const std::string& split) {
  const Rule r = toolkit_rule(setup, split);
  std::vector<std::string> out;
  for (int s : r.subjects) {
    const std::string subject = dexycb_subjects()[static_cast<size_t>(s)];
    std::vector<std::string> seqs;
    if (!fs::is_directory(root + "/" + subject)) continue;
    // Directories only: the toolkit's os.listdir would also count stray files, which real subjects do not
    // have.
    for (const auto& e : fs::directory_iterator(root + "/" + subject))
      if (e.is_directory()) seqs.push_back(e.path().filename().string());
    std::sort(seqs.begin(), seqs.end());
    for (size_t i = 0; i < seqs.size(); ++i) {
      if (!r.sequence(static_cast<int>(i))) continue;
      const SequenceMeta m = read_meta(root + "/" + subject + "/" + seqs[i] + "/meta.yml");
      for (int c : r.serials) {
        const std::string serial = dexycb_serials()[static_cast<size_t>(c)];
        if (!fs::is_directory(root + "/" + subject + "/" + seqs[i] + "/" + serial)) continue;
        for (int64_t f = 0; f < m.num_frames; ++f) out.push_back(color_path(subject, seqs[i], serial, f));
      }
    }
  }
  return out;
}

std::vector<std::string> reader_order(const DexYCBReader& r) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < r.size(); ++i) out.push_back(r.info(i).color_file);
  return out;
}

class FullSkeleton : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("skeleton");
    write_skeleton(dir_->path(), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 100);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static TempDir* dir_;
};
TempDir* FullSkeleton::dir_ = nullptr;

TEST_F(FullSkeleton, EverySetupAndSplitFollowsTheToolkitOrder) {
  for (DSetup setup : all_setups()) {
    std::set<std::string> covered;
    int64_t total = 0;
    for (Split split : all_splits()) {
      const DexYCBReader reader(dir_->path(), setup, split);
      const auto got = reader_order(reader);
      const auto want = toolkit_order(dir_->path(), setup_name(setup), split_name(split));
      ASSERT_EQ(got, want) << setup_name(setup) << "_" << split_name(split);
      ASSERT_FALSE(got.empty());
      covered.insert(got.begin(), got.end());
      total += reader.size();
    }
    // The three splits of a setup partition the dataset.
    EXPECT_EQ(total, static_cast<int64_t>(covered.size())) << setup_name(setup);
    EXPECT_EQ(covered.size(), toolkit_order(dir_->path(), "s1", "train").size() +
                                  toolkit_order(dir_->path(), "s1", "val").size() +
                                  toolkit_order(dir_->path(), "s1", "test").size());
  }
}

TEST_F(FullSkeleton, SampleCountsMatchTheToolkitFormula) {
  // Sequence counts per split: s0 train 80/subject, val/test 20/subject; s3 train 75, val 10, test 15.
  EXPECT_EQ(DexYCBReader(dir_->path(), DSetup::kS0, Split::kTrain).sequences().size(), 800u);
  EXPECT_EQ(DexYCBReader(dir_->path(), DSetup::kS0, Split::kVal).sequences().size(), 40u);
  EXPECT_EQ(DexYCBReader(dir_->path(), DSetup::kS0, Split::kTest).sequences().size(), 160u);
  EXPECT_EQ(DexYCBReader(dir_->path(), DSetup::kS3, Split::kTrain).sequences().size(), 750u);
  EXPECT_EQ(DexYCBReader(dir_->path(), DSetup::kS3, Split::kVal).sequences().size(), 100u);
  EXPECT_EQ(DexYCBReader(dir_->path(), DSetup::kS3, Split::kTest).sequences().size(), 150u);
  const DexYCBReader s2(dir_->path(), DSetup::kS2, Split::kVal);
  for (int64_t i = 0; i < s2.size(); ++i) ASSERT_EQ(s2.info(i).serial_index, 6);
  EXPECT_EQ(s2.intrinsics().size(), 1u);
  EXPECT_EQ(s2.intrinsics().at(6).fx, 606.0);
}

TEST(DexYCBSplits, PartialTreeAppliesTheRulesToWhatIsPresent) {
  TempDir dir("partial");
  write_skeleton(dir.path(), {1, 6}, 12);
  // Remove a camera of one sequence and add a stray file next to the sequences (not a sequence).
  const std::string subject = dexycb_subjects()[1];
  std::vector<std::string> seqs;
  for (const auto& e : fs::directory_iterator(dir / subject)) seqs.push_back(e.path().filename().string());
  std::sort(seqs.begin(), seqs.end());
  fs::remove_all(dir / (subject + "/" + seqs[4] + "/" + dexycb_serials()[3]));
  write(dir / (subject + "/notes.txt"), "not a sequence");
  for (DSetup setup : all_setups()) {
    for (Split split : all_splits()) {
      const DexYCBReader reader(dir.path(), setup, split);
      EXPECT_EQ(reader_order(reader), toolkit_order(dir.path(), setup_name(setup), split_name(split)))
          << setup_name(setup) << "_" << split_name(split);
    }
  }
  // s0 val: subject 1, positions 4 and 9; the sequence at position 4 lost camera 3.
  const DexYCBReader val(dir.path(), DSetup::kS0, Split::kVal);
  ASSERT_EQ(val.sequences().size(), 2u);
  EXPECT_EQ(val.sequences()[0].position, 4);
  EXPECT_EQ(val.sequences()[1].position, 9);
  EXPECT_EQ(val.size(), 7 * frames_of(1, 4) + 8 * frames_of(1, 9));
  // s1 test (subjects 7, 8) is empty here, not an error.
  EXPECT_EQ(DexYCBReader(dir.path(), DSetup::kS1, Split::kTest).size(), 0);
}

TEST(DexYCBSplits, MoreThanAHundredSequencesIsAFormatError) {
  TempDir dir("toomany");
  write_skeleton(dir.path(), {0}, 100);
  fs::create_directories(dir / (dexycb_subjects()[0] + "/20200709_999999"));
  try {
    DexYCBReader(dir.path(), DSetup::kS0, Split::kTrain);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(e.file().find(dexycb_subjects()[0]), std::string::npos);
  }
}

TEST(DexYCBSplits, NamesParseAndUnknownOnesAreConfigErrors) {
  for (DSetup s : all_setups()) EXPECT_EQ(parse_setup(setup_name(s)), s);
  for (Split s : all_splits()) EXPECT_EQ(parse_split(split_name(s)), s);
  EXPECT_THROW(parse_setup("s4"), ConfigError);
  EXPECT_THROW(parse_split("validation"), ConfigError);
  EXPECT_THROW(DexYCBReader("/nonexistent/amt", DSetup::kS0, Split::kTrain), IoError);
}

}  // namespace
}  // namespace amt::data
