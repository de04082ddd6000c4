#include "reference/data/dexycb_splits.hpp"

#include <algorithm>
#include <functional>

#include "reference/core/error.hpp"
#include "reference/data/dexycb_layout.hpp"

namespace amt::data {
namespace {

std::vector<int> range(int n) {
  std::vector<int> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

std::vector<int> sequences_where(const std::function<bool(int)>& keep) {
  std::vector<int> v;
  for (int i = 0; i < kSequencesPerSubject; ++i)
    if (keep(i)) v.push_back(i);
  return v;
}

bool in(int x, std::initializer_list<int> set) {
  return std::find(set.begin(), set.end(), x) != set.end();
}

}  // namespace

const std::vector<Setup>& all_setups() {
  static const std::vector<Setup> k = {Setup::kS0, Setup::kS1, Setup::kS2, Setup::kS3};
  return k;
}
const std::vector<Split>& all_splits() {
  static const std::vector<Split> k = {Split::kTrain, Split::kVal, Split::kTest};
  return k;
}

std::string setup_name(Setup setup) {
  return "s" + std::to_string(static_cast<int>(setup));
}

std::string split_name(Split split) {
  switch (split) {
    case Split::kTrain:
      return "train";
    case Split::kVal:
      return "val";
    case Split::kTest:
      return "test";
  }
  return "?";
}

Setup parse_setup(const std::string& name) {
  for (Setup s : all_setups())
    if (setup_name(s) == name) return s;
  throw ConfigError("unknown DexYCB setup '" + name + "' (expected s0, s1, s2 or s3)");
}

Split parse_split(const std::string& name) {
  for (Split s : all_splits())
    if (split_name(s) == name) return s;
  throw ConfigError("unknown DexYCB split '" + name + "' (expected train, val or test)");
}

bool SplitRule::has_sequence(int position) const {
  return std::binary_search(sequences.begin(), sequences.end(), position);
}

SplitRule split_rule(Setup setup, Split split) {
  const std::vector<int> all_subjects = range(kNumSubjects);
  const std::vector<int> all_serials = range(kNumSerials);
  const std::vector<int> all_sequences = range(kSequencesPerSubject);
  switch (setup) {
    case Setup::kS0:  // seen subjects, cameras and objects: every 5th sequence is held out
      switch (split) {
        case Split::kTrain:
          return {all_subjects, all_serials, sequences_where([](int i) { return i % 5 != 4; })};
        case Split::kVal:
          return {{0, 1}, all_serials, sequences_where([](int i) { return i % 5 == 4; })};
        case Split::kTest:
          return {{2, 3, 4, 5, 6, 7, 8, 9}, all_serials, sequences_where([](int i) { return i % 5 == 4; })};
      }
      break;
    case Setup::kS1:  // unseen subjects
      switch (split) {
        case Split::kTrain:
          return {{0, 1, 2, 3, 4, 5, 9}, all_serials, all_sequences};
        case Split::kVal:
          return {{6}, all_serials, all_sequences};
        case Split::kTest:
          return {{7, 8}, all_serials, all_sequences};
      }
      break;
    case Setup::kS2:  // unseen cameras
      switch (split) {
        case Split::kTrain:
          return {all_subjects, {0, 1, 2, 3, 4, 5}, all_sequences};
        case Split::kVal:
          return {all_subjects, {6}, all_sequences};
        case Split::kTest:
          return {all_subjects, {7}, all_sequences};
      }
      break;
    case Setup::kS3:  // unseen grasped objects: whole groups of 5 sequences (one object each) held out
      switch (split) {
        case Split::kTrain:
          return {all_subjects, all_serials, sequences_where([](int i) {
                    return !in(i / 5, {3, 7, 11, 15, 19});
                  })};
        case Split::kVal:
          return {all_subjects, all_serials, sequences_where([](int i) { return in(i / 5, {3, 19}); })};
        case Split::kTest:
          return {all_subjects, all_serials, sequences_where([](int i) { return in(i / 5, {7, 11, 15}); })};
      }
      break;
  }
  throw ConfigError("split_rule: invalid setup/split");
}

}  // namespace amt::data
