// amt_dexycb: inspect a DexYCB tree (real or synthetic) with the reader's split rules.
//
//   amt_dexycb stats --root DIR                       samples per setup and split, no-hand fraction, K per
//   camera amt_dexycb list --root DIR --setup s0 --split val  one colour image path (relative to the root)
//   per sample, in order
#include <CLI/CLI.hpp>

#include "program/command_line.hpp"
#include "program/exit_codes.hpp"
#include "program/run_reporting_errors.hpp"
#include "reference/core/runtime.hpp"

#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include "reference/core/error.hpp"
#include "reference/data/dexycb_reader.hpp"

namespace {

using namespace amt::data;

int run_list(const std::string& root, const std::string& setup, const std::string& split) {
  const DexYCBReader reader(root, parse_setup(setup), parse_split(split));
  for (int64_t i = 0; i < reader.size(); ++i) std::cout << reader.info(i).color_file << "\n";
  return 0;
}

int run_stats(const std::string& root, bool count_hands) {
  // Each label file is read once, however many splits contain it.
  std::map<std::string, bool> has_hand;
  std::map<int, ColorIntrinsics> intrinsics;
  std::printf("%-6s %-6s %10s %10s %9s\n", "setup", "split", "samples", "sequences", "no-hand");
  for (Setup setup : all_setups()) {
    for (Split split : all_splits()) {
      const DexYCBReader reader(root, setup, split);
      for (const auto& [serial, K] : reader.intrinsics()) intrinsics.emplace(serial, K);
      int64_t without = 0;
      if (count_hands) {
        for (int64_t i = 0; i < reader.size(); ++i) {
          const SampleInfo info = reader.info(i);
          auto it = has_hand.find(info.label_file);
          if (it == has_hand.end()) {
            const FrameLabels l = read_labels(join_path(root, info.label_file));
            it = has_hand.emplace(info.label_file, labels_have_hand(l.joint_3d)).first;
          }
          if (!it->second) ++without;
        }
      }
      char fraction[32] = "-";
      if (count_hands && reader.size() > 0) {
        std::snprintf(fraction, sizeof(fraction), "%.4f",
                      static_cast<double>(without) / static_cast<double>(reader.size()));
      }
      std::printf("%-6s %-6s %10lld %10zu %9s\n", setup_name(setup).c_str(), split_name(split).c_str(),
                  static_cast<long long>(reader.size()), reader.sequences().size(), fraction);
    }
  }
  if (count_hands) {
    int64_t without = 0;
    for (const auto& [file, hand] : has_hand) without += hand ? 0 : 1;
    std::printf("all    frames %10zu  no-hand fraction %.4f\n", has_hand.size(),
                has_hand.empty() ? 0.0 : static_cast<double>(without) / static_cast<double>(has_hand.size()));
  }
  std::printf("\n%-14s %12s %12s %12s %12s\n", "camera", "fx", "fy", "ppx", "ppy");
  for (const auto& [serial, K] : intrinsics) {
    std::printf("%-14s %12.4f %12.4f %12.4f %12.4f\n", dexycb_serials()[static_cast<size_t>(serial)].c_str(),
                K.fx, K.fy, K.ppx, K.ppy);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  amt::configure_runtime();  // allocator reuse, thread choice (reference/core/runtime.hpp)
  CLI::App app{"amt_dexycb: DexYCB tree statistics and split listings"};
  app.require_subcommand(1);
  std::string root, setup = "s0", split = "train";
  bool no_hands = false;
  CLI::App* stats =
      app.add_subcommand("stats", "samples per setup and split, no-hand fraction, K per camera");
  stats->add_option("--root", root, "dataset root")->required();
  stats->add_flag("--no-hand-count", no_hands, "skip reading the label files (fast on the full dataset)");
  CLI::App* list = app.add_subcommand("list", "colour image paths of one split, in toolkit order");
  list->add_option("--root", root, "dataset root")->required();
  list->add_option("--setup", setup, "s0, s1, s2 or s3");
  list->add_option("--split", split, "train, val or test");
  for (CLI::App* a : {&app, stats, list}) amt::program::add_verbose_flag(*a);
  amt::program::add_version_flag(app, "amt_dexycb");
  if (const int code = amt::program::parse_command_line(app, argc, argv, "amt_dexycb"); code >= 0)
    return code;
  return amt::program::run_reporting_errors("amt_dexycb", [&] {
    if (stats->parsed()) return run_stats(root, !no_hands);
    return run_list(root, setup, split);
  });
}
