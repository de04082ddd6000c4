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

}  // namespace

int main(int argc, char** argv) {
  amt::configure_runtime();  // allocator reuse, thread choice (reference/core/runtime.hpp)
  CLI::App app{"amt_ref_train: the AMT reference trainer (conformance gate, training, checkpoints, report)"};
  amt::trainer::RunOptions o;
  std::optional<int64_t> epochs, max_steps, batch_size, accumulation, seed;
  std::optional<double> lr;
  std::optional<std::string> policy, model, data, setup, gate;
  bool quiet_progress = false;
  int64_t nproc = 0;
  std::optional<int64_t> rank, world_size, master_port;
  std::optional<std::string> master_addr;
  amt::trainer::DistOptions dist;
  app.add_option("--config", o.config, "trainer config: configs/train/NAME.yaml or a YAML path")
      ->capture_default_str();
  app.add_option("--model", model, "model config (configs/NAME.yaml): tiny, small, base, large, upstream");
  app.add_option("--epochs", epochs, "epochs (the LR schedule is planned over them)");
  app.add_option("--max-steps", max_steps, "stop after this many optimizer steps (0: run every epoch)");
  app.add_option("--batch-size", batch_size, "images per micro-batch");
  app.add_option("--accumulation", accumulation, "micro-batches per optimizer step");
  app.add_option("--lr", lr, "peak learning rate of the heads (the backbone gets a fraction)");
  amt::program::add_policy_option(app, policy, "precision policy");
  app.add_option("--seed", seed, "seed of the weights, dropout and data order");
  app.add_option("--data", data, "a DexYCB root (default: the synthetic dataset under runs/)");
  app.add_option("--setup", setup, "DexYCB setup s0..s3");
  app.add_option("--gate", gate, "conformance gate before training: quick, full, or skip (loudly recorded)");
  app.add_option("--inject-fault", o.inject_faults, "switch a catalogue fault on for the run (repeatable)");
  app.add_option("--set", o.overrides, "any config key: --set optim.warmup_steps=50 (repeatable)");
  app.add_option("--out", o.out_dir, "run folder (default runs/train-<UTC time>)");
  app.add_option("--runs-dir", o.runs_dir, "where generated data and default run folders go")
      ->capture_default_str();
  app.add_option("--resume", o.resume, "continue a run: its folder or one of its checkpoint folders");
  app.add_flag("--plain", quiet_progress, "plain progress lines even on a terminal");
  app.add_option("--nproc", nproc, "launch N data-parallel ranks on this host (loopback) and supervise them");
  app.add_option("--rank", rank, "this process's rank in a distributed run (env RANK)");
  app.add_option("--world-size", world_size, "number of ranks in a distributed run (env WORLD_SIZE)");
  app.add_option("--master-addr", master_addr, "host of rank 0's TCPStore (env MASTER_ADDR)");
  app.add_option("--master-port", master_port, "port of rank 0's TCPStore (env MASTER_PORT)");
  app.add_option("--store-file", dist.store_file,
                 "rendezvous through a FileStore at this shared path instead");
  app.add_option("--dist-timeout", dist.timeout_s, "seconds any collective may take before the run fails")
      ->capture_default_str();
  amt::program::add_verbose_flag(app);
  amt::program::add_version_flag(app, "amt_ref_train");

  amt::trainer::EvalOptions eval_options;
  CLI::App* eval = app.add_subcommand(
      "eval",
      "validation metrics of a checkpoint (EMA weights, the run's policy and data unless overridden)");
  eval->add_option("checkpoint", eval_options.checkpoint, "a checkpoint folder, or a run folder (its best)")
      ->required();
  eval->add_option("--data", eval_options.data, "a DexYCB root (default: the run's data)");
  eval->add_option("--setup", eval_options.setup, "DexYCB setup s0..s3 (default: the run's)");
  eval->add_option("--split", eval_options.split, "val, test or train")->capture_default_str();
  amt::program::add_policy_option(*eval, eval_options.policy, "precision policy (default: the run's)");
  eval->add_option("--out", eval_options.out,
                   "folder for eval-<setup>-<split>.{json,md} (default: the checkpoint)");
  eval->add_option("--runs-dir", eval_options.runs_dir, "where the run's generated data lives")
      ->capture_default_str();

  amt::trainer::PredictOptions predict_options;
  std::vector<double> predict_K, predict_box;
  CLI::App* predict = app.add_subcommand(
      "predict",
      "per image: predicted joints (camera mm and pixels), objects and contacts as JSON, and a PNG");
  predict
      ->add_option("checkpoint", predict_options.checkpoint,
                   "a checkpoint folder, or a run folder (its best)")
      ->required();
  predict->add_option("images", predict_options.images, "JPEG or PNG images, any size")->required();
  predict->add_option("--out", predict_options.out, "output folder")->required();
  predict->add_option("--K", predict_K, "intrinsics fx,fy,cx,cy in pixels of the image")
      ->delimiter(',')
      ->expected(4);
  predict->add_option("--calib", predict_options.calib, "a DexYCB intrinsics YAML (color: fx, fy, ppx, ppy)");
  predict->add_option("--box", predict_box, "hand box x0,y0,x1,y1 in pixels (hand-crop models)")
      ->delimiter(',')
      ->expected(4);
  amt::program::add_policy_option(*predict, predict_options.policy, "precision policy (default: the run's)");
  if (const int code = amt::program::parse_command_line(app, argc, argv, "amt_ref_train"); code >= 0)
    return code;

  if (eval->parsed()) {
    return amt::program::run_reporting_errors("amt_ref_train eval", [&]() -> int {
      const auto r = amt::trainer::evaluate_checkpoint(eval_options,
                                                       [](const std::string& s) { std::cerr << s << "\n"; });
      std::cout << r.summary << "\n"
                << "wrote " << r.json_file << " and " << r.markdown_file << "\n";
      return 0;
    });
  }
  if (predict->parsed()) {
    return amt::program::run_reporting_errors("amt_ref_train predict", [&]() -> int {
      if (!predict_K.empty())
        predict_options.K =
            amt::vision::Intrinsics{predict_K[0], predict_K[1], predict_K[2], predict_K[3], 0.0};
      if (!predict_box.empty())
        predict_options.box =
            std::array<double, 4>{predict_box[0], predict_box[1], predict_box[2], predict_box[3]};
      for (const auto& r : amt::trainer::predict_images(predict_options)) {
        std::cout << r.image << ": " << r.json_file << ", " << r.png_file << " (camera: " << r.camera_source
                  << (r.box_source.empty() ? "" : "; box: " + r.box_source)
                  << (r.has_ground_truth ? "; ground truth drawn beside" : "") << ")\n";
      }
      return 0;
    });
  }

  // Named options are overrides like --set, applied after it so they win.
  override_if(o.overrides, "model", model);
  override_if(o.overrides, "optim.epochs", epochs);
  override_if(o.overrides, "optim.max_steps", max_steps);
  override_if(o.overrides, "optim.batch_size", batch_size);
  override_if(o.overrides, "optim.accumulation", accumulation);
  override_if(o.overrides, "optim.lr", lr);
  override_if(o.overrides, "policy", policy);
  override_if(o.overrides, "seed", seed);
  override_if(o.overrides, "data.root", data);
  override_if(o.overrides, "data.setup", setup);
  override_if(o.overrides, "run.gate", gate);
  for (int i = 0; i < argc; ++i) o.command_line += (i ? " " : "") + std::string(argv[i]);

  if (nproc > 0) {
    // The launcher: the ranks are this program again, with torchrun's environment.
    return amt::program::run_reporting_errors("amt_ref_train", [&]() -> int {
      amt::trainer::LaunchOptions lo;
      lo.nproc = nproc;
      lo.args = amt::trainer::without_nproc(std::vector<std::string>(argv + 1, argv + argc));
      return amt::trainer::launch_local_ranks(lo, std::cerr);
    });
  }
  // Command line over torchrun's environment over the defaults.
  std::string who = "amt_ref_train";
  const int env_code = amt::program::run_reporting_errors(who, [&]() -> int {
    dist = amt::trainer::dist_options_from_environment(dist);
    if (rank) dist.rank = *rank;
    if (world_size) dist.world_size = *world_size;
    if (master_addr) dist.master_addr = *master_addr;
    if (master_port) dist.master_port = *master_port;
    amt::trainer::check_dist_options(dist);
    return 0;
  });
  if (env_code != 0) return env_code;
  o.dist = dist;
  static std::ostream silent(nullptr);  // ranks > 0: rank 0 reports; their errors still reach stderr
  o.interactive = dist.rank == 0 && !quiet_progress && amt::trainer::Progress::stderr_is_terminal();
  o.log = dist.rank == 0 ? &std::cerr : &silent;
  if (dist.world_size > 1) who += "[rank " + std::to_string(dist.rank) + "]";

  return amt::program::run_reporting_errors(who, [&]() -> int {
    amt::trainer::RunResult r;
    try {
      r = amt::trainer::run_training(o);
    } catch (const amt::trainer::DistributedError& e) {
      std::cerr << who << ": " << e.what() << "\n";  // a peer failed: a runtime error, not bad input
      return amt::trainer::kExitRuntime;
    }
    if (o.dist.rank != 0) return r.exit_code;  // rank 0 reports for the run
    if (r.exit_code == amt::trainer::kExitGateRefused) {
      std::cerr << "amt_ref_train: " << r.message << "\n";
    } else {
      std::cout << r.message << "\n";
    }
    if (!r.report.empty()) std::cout << "report: " << r.report << "\n";
    return r.exit_code;
  });
}
