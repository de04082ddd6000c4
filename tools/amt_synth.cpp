// amt_synth: writes a synthetic dataset in the exact DexYCB layout (reference/data/synth.hpp).
//
//   amt_synth --out DIR                         10 subjects × 5 sequences × 2 frames × 8 cameras (800 images)
//   amt_synth --out DIR --subjects 0,1 --sequences 20 --frames 3 --seed 7
//   amt_synth --out DIR --full-layout           all 10 subjects × 100 sequences (1 frame each unless
//   --frames)
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <thread>

#include "program/command_line.hpp"
#include "program/exit_codes.hpp"
#include "program/run_reporting_errors.hpp"
#include "reference/core/error.hpp"
#include "reference/core/runtime.hpp"
#include "reference/data/synth.hpp"

int main(int argc, char** argv) {
  amt::configure_runtime();  // allocator reuse, thread choice (reference/core/runtime.hpp)
  CLI::App app{"amt_synth: write a synthetic dataset in the DexYCB layout (jpg, npz, yml)"};
  std::string out;
  std::vector<int> subjects;
  int sequences = -1, frames = -1,
      threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  uint64_t seed = 0;
  double no_hand = 0.1;
  int quality = 90;
  bool full_layout = false;
  app.add_option("--out", out, "output directory (the dataset root)")->required();
  app.add_option("--subjects", subjects, "subject indices 0..9 (default: all 10)")->delimiter(',');
  app.add_option("--sequences", sequences,
                 "sequences per subject, 1..100 (default 5; 100 with --full-layout)");
  app.add_option("--frames", frames, "frames per sequence (default 2; 1 with --full-layout)");
  app.add_option("--seed", seed, "random seed (the output is a pure function of the options)");
  app.add_option("--no-hand-fraction", no_hand, "fraction of frames without a hand")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--jpeg-quality", quality, "JPEG quality 1..100")->check(CLI::Range(1, 100));
  app.add_option("--threads", threads, "worker threads")->check(CLI::PositiveNumber);
  app.add_flag(
      "--full-layout", full_layout,
      "all 10 subjects x 100 sequences, so tools that insist on the complete DexYCB structure accept it");
  amt::program::add_verbose_flag(app);
  amt::program::add_version_flag(app, "amt_synth");
  if (const int code = amt::program::parse_command_line(app, argc, argv, "amt_synth"); code >= 0) return code;

  amt::data::SynthOptions o = full_layout ? amt::data::full_layout_options(seed) : amt::data::SynthOptions{};
  o.seed = seed;
  if (!subjects.empty()) o.subjects = subjects;
  if (sequences > 0) o.sequences = sequences;
  if (frames > 0) o.frames = frames;
  o.no_hand_fraction = no_hand;
  o.jpeg_quality = quality;
  o.threads = threads;
  o.keep_labels = false;
  return amt::program::run_reporting_errors("amt_synth", [&] {
    const auto t0 = std::chrono::steady_clock::now();
    const amt::data::SynthResult r = amt::data::synthesize_dexycb(out, o);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "amt_synth: wrote " << r.images << " images (" << r.no_hand_images << " without a hand) of "
              << o.subjects.size() << " subjects x " << o.sequences << " sequences x " << o.frames
              << " frames x 8 cameras to " << out << " in " << s << " s\n";
    return 0;
  });
}
