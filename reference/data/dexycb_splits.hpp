// The DexYCB toolkit's four evaluation setups and their train/val/test rules (dex_ycb_toolkit/dex_ycb.py):
//
//   s0 seen        train: subjects 0–9, cameras 0–7, sequences i % 5 != 4
//                  val:   subjects 0–1,              sequences i % 5 == 4
//                  test:  subjects 2–9,              sequences i % 5 == 4
//   s1 unseen subjects   train: subjects 0–5 and 9; val: 6; test: 7–8    (all cameras, all sequences)
//   s2 unseen cameras    train: cameras 0–5; val: camera 6; test: camera 7  (all subjects, all sequences)
//   s3 unseen objects    train: sequences with i // 5 not in {3, 7, 11, 15, 19}; val: i // 5 in {3, 19};
//                        test: i // 5 in {7, 11, 15}                         (all subjects, all cameras)
//
// Subject and camera indices refer to dexycb_subjects() / dexycb_serials(); a sequence index is the position
// of the sequence in its subject's sorted directory listing (0..99). Samples are ordered sequence → camera →
// frame.
#pragma once
#include <string>
#include <vector>

namespace amt::data {

enum class Setup { kS0, kS1, kS2, kS3 };
enum class Split { kTrain, kVal, kTest };

const std::vector<Setup>& all_setups();
const std::vector<Split>& all_splits();
std::string setup_name(Setup setup);  // "s0".."s3"
std::string split_name(Split split);  // "train", "val", "test"
// amt::ConfigError naming the accepted values for anything else.
Setup parse_setup(const std::string& name);
Split parse_split(const std::string& name);

struct SplitRule {
  std::vector<int> subjects;   // indices into dexycb_subjects(), ascending
  std::vector<int> serials;    // indices into dexycb_serials(), ascending
  std::vector<int> sequences;  // sequence positions 0..99, ascending
  bool has_sequence(int position) const;
};

SplitRule split_rule(Setup setup, Split split);

}  // namespace amt::data
