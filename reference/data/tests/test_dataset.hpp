// Shared by the data tests: one small generated dataset per test process (generated on first use into the
// test temp dir, removed at exit), and a temp-dir helper.
#pragma once
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "reference/data/dexycb_reader.hpp"
#include "reference/data/dexycb_splits.hpp"
#include "reference/data/synth.hpp"

namespace amt::data {
// gtest's Test has a member named Setup (a spelling trap), which hides amt::data::Setup inside test bodies.
using DSetup = Setup;
}  // namespace amt::data

namespace amt::data::testing {

// Where test trees go: $AMT_TEST_SCRATCH, else /dev/shm when writable, else the gtest temp dir. Why: the
// trees have thousands of small files and removing them from a busy disk took 30 s here (vs 0.1 s on tmpfs),
// and ctest runs every test case in its own process, each building its own tree.
inline std::string scratch_root() {
  if (const char* env = std::getenv("AMT_TEST_SCRATCH")) return std::string(env) + "/";
  if (::access("/dev/shm", W_OK) == 0) return "/dev/shm/";
  return ::testing::TempDir();
}

// A fresh directory under scratch_root(), removed when the object dies.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path_ = scratch_root() + "amt_data_" + tag + "_" + std::to_string(::getpid()) + "_" +
            std::to_string(counter++);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Subjects 0 (s0 val, s1 train), 6 (s0 test, s1 val) and 7 (s0 test, s1 test); 5 sequences of 1 frame; all 8
// cameras: 15 scene frames, 120 images, 2 of the 15 frames without a hand.
inline SynthOptions small_options() {
  SynthOptions o;
  o.subjects = {0, 6, 7};
  o.sequences = 5;
  o.frames = 1;
  o.seed = 1234;
  o.threads = 2;
  o.keep_labels = true;
  o.keep_seg = true;
  return o;
}

struct SmallDataset {
  std::string root;
  SynthResult result;  // what the generator returned (labels and masks included)
};

// Generated once per test binary build and shared by every test process of that build (single tests run with
// --gtest_filter, repeated ctest runs; each would otherwise spend ~2 s generating). The tree and the
// generator's returned manifest are written under a name keyed by the test binary's size and mtime and
// published with an atomic rename; a rebuilt binary regenerates and removes older fixtures.
const SmallDataset& small_dataset();
// The small dataset's s0 training split, opened once.
inline const DexYCBReader& small_train_reader() {
  static const DexYCBReader r(small_dataset().root, DSetup::kS0, Split::kTrain);
  return r;
}

}  // namespace amt::data::testing
