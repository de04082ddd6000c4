// amt_ref_train: the reference trainer (trainer/trainer.hpp).
//
//   amt_ref_train                                   gate, then train tiny on the synthetic dataset (~10 min)
//   amt_ref_train --data /data/dexycb --setup s0    a real DexYCB tree through the same reader and splits
//   amt_ref_train --resume runs/train-...           continue a run exactly where its last checkpoint left it
//   amt_ref_train --inject-fault boundary.camera_dtype     watch the gate refuse
//   amt_ref_train --nproc 2                         two data-parallel ranks on this host (c10d Gloo)
//   amt_ref_train --rank R --world-size W --master-addr HOST --master-port P   one rank of a multi-host run
//                                                   (or torchrun's RANK, WORLD_SIZE, MASTER_ADDR,
//                                                   MASTER_PORT)
//   amt_ref_train eval RUN_OR_CHECKPOINT [--split test]   a checkpoint's validation metrics (JSON + Markdown)
//   amt_ref_train predict RUN_OR_CHECKPOINT IMAGE... --out DIR   joints, objects, contacts and a picture
//
// Exit codes: 0 done · 2 bad input (one line naming the file or option) · 3 LibTorch/OpenCV/memory error ·
// 4 the conformance gate refused (nothing trained, no checkpoint) · 128+signal: stopped by SIGINT/SIGTERM
// after saving a checkpoint (the message says how to resume).
#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>

#include "program/command_line.hpp"
#include "program/exit_codes.hpp"
#include "program/run_reporting_errors.hpp"
#include "reference/core/runtime.hpp"
#include "trainer/evaluate.hpp"
#include "trainer/launcher.hpp"
#include "trainer/predict.hpp"
#include "trainer/progress.hpp"
#include "trainer/trainer.hpp"

namespace {

template <class T>
void override_if(std::vector<std::string>& out, const char* key, const std::optional<T>& v) {
  if (!v) return;
  std::ostringstream s;
  s.precision(17);
  s << *v;
  out.push_back(std::string(key) + "=" + s.str());
}

// Everything the command line sets: the run's options, the named overrides and distributed options that
// complete them after parsing, and the two subcommands with their options.
struct CommandLine {
  amt::trainer::RunOptions o;
  std::optional<int64_t> epochs, max_steps, batch_size, accumulation, seed;
  std::optional<double> lr;
  std::optional<std::string> policy, model, data, setup, gate;
  bool quiet_progress = false;
  int64_t nproc = 0;
  std::optional<int64_t> rank, world_size, master_port;
  std::optional<std::string> master_addr;
  amt::trainer::DistOptions dist;

  CLI::App* eval = nullptr;
  amt::trainer::EvalOptions eval_options;
  CLI::App* predict = nullptr;
  amt::trainer::PredictOptions predict_options;
  std::vector<double> predict_K, predict_box;
};

void add_train_options(CLI::App& app, CommandLine& c) {
  app.add_option("--config", c.o.config, "trainer config: configs/train/NAME.yaml or a YAML path")
      ->capture_default_str();
  app.add_option("--model", c.model, "model config (configs/NAME.yaml): tiny, small, base, large, upstream");
  app.add_option("--epochs", c.epochs, "epochs (the LR schedule is planned over them)");
  app.add_option("--max-steps", c.max_steps, "stop after this many optimizer steps (0: run every epoch)");
  app.add_option("--batch-size", c.batch_size, "images per micro-batch");
  app.add_option("--accumulation", c.accumulation, "micro-batches per optimizer step");
  app.add_option("--lr", c.lr, "peak learning rate of the heads (the backbone gets a fraction)");
  amt::program::add_policy_option(app, c.policy, "precision policy");
  app.add_option("--seed", c.seed, "seed of the weights, dropout and data order");
  app.add_option("--data", c.data, "a DexYCB root (default: the synthetic dataset under runs/)");
  app.add_option("--setup", c.setup, "DexYCB setup s0..s3");
  app.add_option("--gate", c.gate,
                 "conformance gate before training: quick, full, or skip (loudly recorded)");
  app.add_option("--inject-fault", c.o.inject_faults, "switch a catalogue fault on for the run (repeatable)");
  app.add_option("--set", c.o.overrides, "any config key: --set optim.warmup_steps=50 (repeatable)");
  app.add_option("--out", c.o.out_dir, "run folder (default runs/train-<UTC time>)");
  app.add_option("--runs-dir", c.o.runs_dir, "where generated data and default run folders go")
      ->capture_default_str();
  app.add_option("--resume", c.o.resume, "continue a run: its folder or one of its checkpoint folders");
  app.add_flag("--plain", c.quiet_progress, "plain progress lines even on a terminal");
  app.add_option("--nproc", c.nproc,
                 "launch N data-parallel ranks on this host (loopback) and supervise them");
  app.add_option("--rank", c.rank, "this process's rank in a distributed run (env RANK)");
  app.add_option("--world-size", c.world_size, "number of ranks in a distributed run (env WORLD_SIZE)");
  app.add_option("--master-addr", c.master_addr, "host of rank 0's TCPStore (env MASTER_ADDR)");
  app.add_option("--master-port", c.master_port, "port of rank 0's TCPStore (env MASTER_PORT)");
  app.add_option("--store-file", c.dist.store_file,
                 "rendezvous through a FileStore at this shared path instead");
  app.add_option("--dist-timeout", c.dist.timeout_s, "seconds any collective may take before the run fails")
      ->capture_default_str();
}

void add_eval_command(CLI::App& app, CommandLine& c) {
  amt::trainer::EvalOptions& eo = c.eval_options;
  c.eval = app.add_subcommand(
      "eval",
      "validation metrics of a checkpoint (EMA weights, the run's policy and data unless overridden)");
  c.eval->add_option("checkpoint", eo.checkpoint, "a checkpoint folder, or a run folder (its best)")
      ->required();
  c.eval->add_option("--data", eo.data, "a DexYCB root (default: the run's data)");
  c.eval->add_option("--setup", eo.setup, "DexYCB setup s0..s3 (default: the run's)");
  c.eval->add_option("--split", eo.split, "val, test or train")->capture_default_str();
  amt::program::add_policy_option(*c.eval, eo.policy, "precision policy (default: the run's)");
  c.eval->add_option("--out", eo.out, "folder for eval-<setup>-<split>.{json,md} (default: the checkpoint)");
  c.eval->add_option("--runs-dir", eo.runs_dir, "where the run's generated data lives")
      ->capture_default_str();
}

void add_predict_command(CLI::App& app, CommandLine& c) {
  amt::trainer::PredictOptions& po = c.predict_options;
  c.predict = app.add_subcommand(
      "predict",
      "per image: predicted joints (camera mm and pixels), objects and contacts as JSON, and a PNG");
  c.predict->add_option("checkpoint", po.checkpoint, "a checkpoint folder, or a run folder (its best)")
      ->required();
  c.predict->add_option("images", po.images, "JPEG or PNG images, any size")->required();
  c.predict->add_option("--out", po.out, "output folder")->required();
  c.predict->add_option("--K", c.predict_K, "intrinsics fx,fy,cx,cy in pixels of the image")
      ->delimiter(',')
      ->expected(4);
  c.predict->add_option("--calib", po.calib, "a DexYCB intrinsics YAML (color: fx, fy, ppx, ppy)");
  c.predict->add_option("--box", c.predict_box, "hand box x0,y0,x1,y1 in pixels (hand-crop models)")
      ->delimiter(',')
      ->expected(4);
  amt::program::add_policy_option(*c.predict, po.policy, "precision policy (default: the run's)");
}

int run_eval(const CommandLine& c) {
  return amt::program::run_reporting_errors("amt_ref_train eval", [&]() -> int {
    const auto r = amt::trainer::evaluate_checkpoint(c.eval_options,
                                                     [](const std::string& s) { std::cerr << s << "\n"; });
    std::cout << r.summary << "\n"
              << "wrote " << r.json_file << " and " << r.markdown_file << "\n";
    return 0;
  });
}

int run_predict(CommandLine& c) {
  return amt::program::run_reporting_errors("amt_ref_train predict", [&]() -> int {
    const std::vector<double>& K = c.predict_K;
    const std::vector<double>& box = c.predict_box;
    if (!K.empty()) c.predict_options.K = amt::vision::Intrinsics{K[0], K[1], K[2], K[3], 0.0};
    if (!box.empty()) c.predict_options.box = std::array<double, 4>{box[0], box[1], box[2], box[3]};
    for (const auto& r : amt::trainer::predict_images(c.predict_options)) {
      std::cout << r.image << ": " << r.json_file << ", " << r.png_file << " (camera: " << r.camera_source
                << (r.box_source.empty() ? "" : "; box: " + r.box_source)
                << (r.has_ground_truth ? "; ground truth drawn beside" : "") << ")\n";
    }
    return 0;
  });
}

// Named options are overrides like --set, applied after it so they win.
void add_named_overrides(CommandLine& c) {
  std::vector<std::string>& out = c.o.overrides;
  override_if(out, "model", c.model);
  override_if(out, "optim.epochs", c.epochs);
  override_if(out, "optim.max_steps", c.max_steps);
  override_if(out, "optim.batch_size", c.batch_size);
  override_if(out, "optim.accumulation", c.accumulation);
  override_if(out, "optim.lr", c.lr);
  override_if(out, "policy", c.policy);
  override_if(out, "seed", c.seed);
  override_if(out, "data.root", c.data);
  override_if(out, "data.setup", c.setup);
  override_if(out, "run.gate", c.gate);
}

// The launcher: the ranks are this program again, with torchrun's environment.
int launch_ranks(const CommandLine& c, int argc, char** argv) {
  return amt::program::run_reporting_errors("amt_ref_train", [&]() -> int {
    amt::trainer::LaunchOptions lo;
    lo.nproc = c.nproc;
    lo.args = amt::trainer::without_nproc(std::vector<std::string>(argv + 1, argv + argc));
    return amt::trainer::launch_local_ranks(lo, std::cerr);
  });
}

// One rank of a run (the only one without --nproc / WORLD_SIZE).
int train_one_rank(CommandLine& c) {
  // Command line over torchrun's environment over the defaults.
  std::string who = "amt_ref_train";
  amt::trainer::DistOptions& dist = c.dist;
  const int env_code = amt::program::run_reporting_errors(who, [&]() -> int {
    dist = amt::trainer::dist_options_from_environment(dist);
    if (c.rank) dist.rank = *c.rank;
    if (c.world_size) dist.world_size = *c.world_size;
    if (c.master_addr) dist.master_addr = *c.master_addr;
    if (c.master_port) dist.master_port = *c.master_port;
    amt::trainer::check_dist_options(dist);
    return 0;
  });
  if (env_code != 0) return env_code;
  amt::trainer::RunOptions& o = c.o;
  o.dist = dist;
  static std::ostream silent(nullptr);  // ranks > 0: rank 0 reports; their errors still reach stderr
  o.interactive = dist.rank == 0 && !c.quiet_progress && amt::trainer::Progress::stderr_is_terminal();
  o.log = dist.rank == 0 ? &std::cerr : &silent;
  if (dist.world_size > 1) who += "[rank " + std::to_string(dist.rank) + "]";

  return amt::program::run_reporting_errors(who, [&]() -> int {
    amt::trainer::RunResult r;
    try {
      r = amt::trainer::run_training(o);
    } catch (const amt::trainer::DistributedError& e) {
      std::cerr << who << ": " << e.what() << "\n";  // a peer failed: a runtime error, not bad input
      return amt::program::kExitInternal;
    }
    if (o.dist.rank != 0) return r.exit_code;  // rank 0 reports for the run
    if (r.exit_code == amt::program::kExitGateRefused) {
      std::cerr << "amt_ref_train: " << r.message << "\n";
    } else {
      std::cout << r.message << "\n";
    }
    if (!r.report.empty()) std::cout << "report: " << r.report << "\n";
    return r.exit_code;
  });
}

}  // namespace

int main(int argc, char** argv) {
  amt::configure_runtime();  // allocator reuse, thread choice (reference/core/runtime.hpp)
  CLI::App app{"amt_ref_train: the AMT reference trainer (conformance gate, training, checkpoints, report)"};
  CommandLine c;
  add_train_options(app, c);
  amt::program::add_verbose_flag(app);
  amt::program::add_version_flag(app, "amt_ref_train");
  add_eval_command(app, c);
  add_predict_command(app, c);
  if (const int code = amt::program::parse_command_line(app, argc, argv, "amt_ref_train"); code >= 0)
    return code;

  if (c.eval->parsed()) return run_eval(c);
  if (c.predict->parsed()) return run_predict(c);
  add_named_overrides(c);
  for (int i = 0; i < argc; ++i) c.o.command_line += (i ? " " : "") + std::string(argv[i]);
  if (c.nproc > 0) return launch_ranks(c, argc, argv);
  return train_one_rank(c);
}
