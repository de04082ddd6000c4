#include "trainer/trainer.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <optional>
#include <set>

#include "reference/core/error.hpp"
#include "reference/data/loader.hpp"
#include "reference/io/curves_png.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/json_file.hpp"
#include "reference/model/amt_config.hpp"
#include "reference/model/hf_config_writer.hpp"
#include "reference/model/weights_loader.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/faults.hpp"
#include "reference/precision/platform.hpp"
#include "reference/vision/dummy_batch.hpp"
#include "trainer/data_setup.hpp"
#include "trainer/gate.hpp"
#include "trainer/gradient_buckets.hpp"
#include "trainer/metrics_log.hpp"
#include "trainer/predict.hpp"
#include "trainer/progress.hpp"
#include "trainer/report.hpp"
#include "trainer/stop_signal.hpp"
#include "trainer/validation.hpp"

namespace amt::trainer {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using io::Panel;
using io::Series;
using io::write_curves_png;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string utc_stamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

// What may change when a run is resumed: when it stops and how it reports, never what it trains.
bool resumable_override(const std::string& assignment) {
  const std::string key = assignment.substr(0, assignment.find('='));
  static const std::set<std::string> allowed = {
      "optim.epochs",  "optim.max_steps", "data.decode_threads", "run.keep_last", "run.checkpoint_every",
      "run.log_every", "run.gate"};
  return allowed.count(key) != 0;
}

// The training-log columns: the loss, every weighted term, the norm, the LRs, throughput.
const std::vector<std::string>& train_log_columns() {
  static const std::vector<std::string> c = {"loss",
                                             "grad_norm",
                                             "lr/backbone",
                                             "lr/heads",
                                             "images_per_s",
                                             "skipped_steps",
                                             "hand_coarse",
                                             "hand_refined",
                                             "pairwise",
                                             "reprojection",
                                             "object_position",
                                             "object_rotation",
                                             "contact",
                                             "physics_joint_angles",
                                             "physics_penetration",
                                             "diversity"};
  return c;
}

// Every key validate() returns, plus the LR and the training time at the validation.
const std::vector<std::string>& metrics_columns() {
  static const std::vector<std::string> c = {"val_mpjpe_mm",
                                             "val_pa_mpjpe_mm",
                                             "baseline_mpjpe_mm",
                                             "baseline_pa_mpjpe_mm",
                                             "val_rr_mpjpe_mm",
                                             "baseline_rr_mpjpe_mm",
                                             "val_root_error_mm",
                                             "val_coarse_mpjpe_mm",
                                             "val_pa_mpjpe_scaled_mm",
                                             "val_pck3d_20mm",
                                             "val_pck3d_30mm",
                                             "val_pck3d_40mm",
                                             "val_pck3d_50mm",
                                             "val_auc_20_50mm",
                                             "val_pck2d_5px",
                                             "val_loss",
                                             "val_object_position_mm",
                                             "val_object_rotation_deg",
                                             "val_add_mm",
                                             "val_adds_mm",
                                             "val_frames",
                                             "lr/heads",
                                             "train_seconds"};
  return c;
}

void draw_curves(const std::string& run_dir) {
  const auto train = MetricsLog::read(run_dir + "/train_log.jsonl");
  const auto val = fs::exists(run_dir + "/metrics.jsonl") ? MetricsLog::read(run_dir + "/metrics.jsonl")
                                                          : std::vector<MetricsLog::Record>{};
  const auto series = [](const std::vector<MetricsLog::Record>& recs, const std::string& key,
                         const std::string& name) {
    Series s;
    s.name = name;
    for (const auto& r : recs) {
      const auto it = r.values.find(key);
      if (it == r.values.end()) continue;
      s.x.push_back(static_cast<double>(r.step));
      s.y.push_back(it->second);
    }
    return s;
  };
  Panel losses{"training loss", "optimizer step", "loss", {}, true};
  for (const char* k : {"loss", "hand_coarse", "hand_refined", "reprojection", "object_position"})
    losses.series.push_back(series(train, k, k));
  Panel mpjpe{"validation MPJPE (refined joints, EMA weights)", "optimizer step", "mm", {}, false};
  mpjpe.series.push_back(series(val, "val_mpjpe_mm", "val MPJPE"));
  mpjpe.series.push_back(series(val, "val_pa_mpjpe_mm", "val PA-MPJPE"));
  mpjpe.series.push_back(series(val, "baseline_mpjpe_mm", "mean-pose baseline"));
  Panel lr{"learning rate", "optimizer step", "lr", {}, true};
  lr.series.push_back(series(train, "lr/heads", "heads"));
  lr.series.push_back(series(train, "lr/backbone", "backbone"));
  write_curves_png(run_dir + "/curves.png", {losses, mpjpe, lr});
}

// A distributed step's logged loss and terms: the image-weighted mean over the ranks (what one rank with the
// whole global batch would have logged), not rank 0's own.
train::StepResult global_mean_loss(ProcessGroup& group, train::StepResult r, double local_images) {
  std::vector<double> values = {local_images, r.loss * local_images};
  for (const auto& [name, v] : r.terms) values.push_back(v * local_images);
  std::vector<torch::Tensor> t{torch::tensor(values, torch::kDouble)};
  group.allreduce_sum(t);
  const double n = t[0][0].item<double>();
  if (!(n > 0.0)) return r;
  r.loss = t[0][1].item<double>() / n;
  int64_t i = 2;
  for (auto& [name, v] : r.terms) v = t[0][i++].item<double>() / n;
  return r;
}

}  // namespace

// --- Trainer ---------------------------------------------------------------------------------------------

Trainer::Trainer(model::AmtModel model, const TrainConfig& config, Schedule schedule)
    : model_(std::move(model)),
      config_(config),
      policy_(precision::PrecisionPolicy::parse(config.policy)),
      schedule_(schedule),
      optimizer_(*model_, config) {
  if (config.ema_decay > 0.0) ema_ = std::make_unique<Ema>(*model_, config.ema_decay);
}

train::StepResult Trainer::step(const std::vector<TensorMap>& micro_batches,
                                const train::GradientReducer& reduce_gradients) {
  optimizer_.set_lr_factor(lr_factor(schedule_, steps_));
  if (config_.dropout) {
    model_->train();
  } else {
    model_->eval();
  }
  train::StepResult r = train::training_step(*model_, optimizer_.adamw(), micro_batches, config_.loss,
                                             policy_, config_.clip_norm, reduce_gradients);
  if (!r.skipped) {
    ++steps_;
    if (ema_) ema_->update(*model_);
  }
  return r;
}

Checkpoint Trainer::make_checkpoint(const TrainState& state) const {
  Checkpoint c;
  c.state = state;
  // Copies: the parameters, AdamW moments and EMA shadow are updated in place by the next step.
  for (const auto& item : model_->named_parameters()) c.model[item.key()] = item.value().detach().clone();
  for (const auto& item : model_->encoder->backbone->named_parameters())
    c.backbone[item.key()] = item.value().detach().clone();
  c.backbone_config = model::hf_config_json(model_->config().backbone);
  for (const auto& [k, v] : optimizer_.state_tensors()) c.optimizer[k] = v.clone();
  if (ema_) {
    for (const auto& [k, v] : ema_->state_tensors()) c.ema[k] = v.clone();
  }
  c.rng = cpu_rng_state();
  return c;
}

void Trainer::restore(const Checkpoint& c, const std::string& source) {
  model::load_state_dict(*model_, c.model, source + "/model.safetensors", true);
  optimizer_.load_state_tensors(c.optimizer, source + "/optimizer.safetensors");
  if (ema_) ema_->load_state_tensors(c.ema, source + "/ema.safetensors");
  set_cpu_rng_state(c.rng);
  steps_ = c.state.step;
}

// --- run_training ----------------------------------------------------------------------------------------

RunResult run_training(const RunOptions& o) {
  const auto t_start = Clock::now();
  std::ostream& log = o.log ? *o.log : std::cerr;
  // One progress object for the bar and every message, so a message never lands on the bar's line (each
  // update carries its own total).
  Progress progress(log, o.interactive, 1);
  const auto say = [&](const std::string& s) { progress.message(s); };
  RunResult result;

  // 1. The config: the YAML (or, on resume, the run's own config.json) and the overrides.
  TrainConfig cfg;
  std::string run_dir = o.out_dir;
  std::string resume_from;
  if (!o.resume.empty()) {
    resume_from = resolve_checkpoint(o.resume);
    run_dir = fs::path(resume_from).parent_path().parent_path().string();
    const std::string cfg_file = run_dir + "/config.json";
    cfg = from_json(io::load_json_file(cfg_file), cfg_file);
    for (const auto& a : o.overrides) {
      if (!resumable_override(a))
        throw ConfigError("--resume: '" + a.substr(0, a.find('=')) +
                          "' cannot change when resuming (it would train something else than " + run_dir +
                          " started); only epochs, max steps and run.* may");
      apply_override(cfg, a);
    }
  } else {
    cfg = load_train_config(find_train_config(o.config));
    for (const auto& a : o.overrides) apply_override(cfg, a);
    if (run_dir.empty()) run_dir = (fs::path(o.runs_dir) / ("train-" + utc_stamp())).string();
  }
  check_train_config(cfg);
  const precision::PrecisionPolicy policy = precision::PrecisionPolicy::parse(cfg.policy);
  model::AmtConfig mc = run_model_config(cfg);

  // The ranks (a group of one without --nproc / WORLD_SIZE). Rank 0 alone writes anything; the others train
  // their shard and wait for rank 0 where it works alone (gate, data, validation).
  const std::unique_ptr<ProcessGroup> group = ProcessGroup::connect(o.dist);
  const bool root = group->is_root();
  const int64_t world = group->world_size();
  run_dir = group->share_from_root("run_dir", run_dir);  // the default folder name has rank 0's clock in it
  if (root) {
    fs::create_directories(run_dir);
    if (resume_from.empty()) io::write_file_atomic(run_dir + "/config.json", to_json(cfg).dump(2) + "\n");
  }
  result.run_dir = run_dir;
  say("run: " + run_dir + (resume_from.empty() ? "" : " (resuming from " + resume_from + ")") +
      (world > 1 ? ", " + std::to_string(world) + " ranks (Gloo)" : ""));

  // 2. Faults: switched on for the whole run, so the gate can be seen to refuse.
  for (const auto& f : o.inject_faults) set_fault(f, true);
  std::vector<std::string> warnings;
  if (!o.inject_faults.empty()) {
    std::string names;
    for (const auto& f : o.inject_faults) names += (names.empty() ? "" : ", ") + f;
    warnings.push_back("fault switches were on for this run: " + names);
  }

  RunReport report;
  report.title = "amt_ref_train: " + mc.name + ", " + cfg.policy;
  report.command_line = o.command_line;
  report.config = describe(cfg);

  const auto write_metadata = [&](const std::string& verdict) {
    if (!root) return;
    nlohmann::json meta = {{"world_size", world},
                           {"command_line", o.command_line},
                           {"platform", precision::to_json(precision::platform())},
                           {"gate", cfg.gate},
                           {"gate_verdict", verdict},
                           {"warnings", warnings},
                           {"faults", o.inject_faults},
                           {"resumed_from", resume_from}};
    io::write_file_atomic(run_dir + "/run.json", meta.dump(2) + "\n");
  };

  // 3. The gate.
  if (cfg.gate == "skip") {
    warnings.push_back(
        "THE CONFORMANCE GATE WAS SKIPPED (--gate skip): nothing proves that this run trained "
        "the reference; do not report its numbers as conformant");
    say("WARNING: " + warnings.back());
    report.gate_verdict = "skipped";
    report.gate_summary = "The gate was skipped on request (`--gate skip`).";
  } else if (!root) {
    // Rank 0 gates for every rank; the others wait for its verdict.
    const std::string verdict = group->share_from_root("gate", "");
    if (verdict != "passed") {
      result.exit_code = kExitGateRefused;
      result.message = "rank 0's conformance gate refused: nothing trained";
      return result;
    }
  } else {
    GateOptions go;
    go.mode = cfg.gate;
    go.config = cfg.model;
    go.policy = cfg.policy;
    go.seed = cfg.seed;
    go.progress = say;
    const GateResult gate = run_gate(go);
    write_gate_reports(run_dir, gate);
    group->share_from_root("gate", gate.passed ? "passed" : "failed");
    say("gate: " + gate.summary + " (" + std::to_string(static_cast<int>(gate.seconds)) + " s)");
    report.gate_verdict = gate.passed ? "passed" : "failed";
    report.gate_summary = gate.summary + (gate.passed ? "" : "\n\n" + gate.reason) +
                          "\n\nDetails: [conformance.md](conformance.md).";
    if (!gate.passed) {
      report.warnings = warnings;
      report.wall_time_s = seconds_since(t_start);
      report.notes.push_back("Nothing was trained: the gate refused.");
      write_run_report(run_dir + "/report.md", report);
      write_metadata("failed");
      result.exit_code = kExitGateRefused;
      result.report = run_dir + "/report.md";
      result.message = gate.reason;
      return result;
    }
  }
  write_metadata(report.gate_verdict);
  // From here a SIGINT/SIGTERM is a request: before the first step the run just ends, after it a checkpoint
  // is saved first. (During the gate the default action stands: there is nothing to save.)
  install_stop_signals();
  const auto interrupted_before_training = [&]() {
    result.exit_code = 128 + stop_signal();
    result.message = "interrupted before the first step; nothing was trained";
    return result;
  };

  // 4. Data, model, trainer. Seeding after the gate: a run with the gate and one without train the same.
  // Dropout differs per rank (as under DDP); rank 0 draws what a one-rank run draws.
  torch::manual_seed(cfg.seed + static_cast<uint64_t>(group->rank()) * 1000003u);
  // Rank 0 generates and caches the data first; the others then find it (or, on another host without a
  // shared folder, make the same deterministic copy).
  if (!root) group->share_from_root("data", "");
  const TrainData data = prepare_data(cfg, mc, o.runs_dir, say);
  if (root) group->share_from_root("data", "ready");
  if (cfg.crop == "hand" && cfg.crop_box_m == 0.0) {
    // Resolved once, from the training crops, and recorded: a resume and `eval` build the same model.
    cfg.crop_box_m = measure_crop_box_m(data.train);
    mc = run_model_config(cfg);
    if (root) io::write_file_atomic(run_dir + "/config.json", to_json(cfg).dump(2) + "\n");
    say("data: the hand-crop box spans " + std::to_string(cfg.crop_box_m) + " m at the hand (median)");
  }
  const torch::Tensor mean_joints = mean_pose(data.train);
  if (stop_signal()) return interrupted_before_training();
  model::AmtModel model = model::make_amt_model(mc, cfg.seed, policy);
  if (!cfg.pretrained_backbone.empty())
    model::load_pretrained_backbone(*model, cfg.pretrained_backbone, policy);
  if (world > 1) {
    // Every replica starts from rank 0's weights.
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> state;
    for (const auto& p : model->parameters()) state.push_back(p.data());
    for (const auto& b : model->buffers()) state.push_back(b.data());
    group->broadcast(state, 0);
  }
  const int64_t patch = mc.backbone.patch_size, shuffle = mc.token_shuffle;

  data::LoaderOptions lo;
  lo.batch_size = cfg.batch_size;
  lo.shuffle = true;
  lo.seed = cfg.seed;
  lo.rank = group->rank();
  lo.world_size = world;
  lo.crop_jitter = true;  // a no-op unless the cache holds hand crops
  data::Loader loader(data.train, lo, patch, shuffle);
  // In lock-step every rank takes as many steps as the rank with the most batches (dummies fill the rest).
  const int64_t batches_per_epoch = data::max_batches_over_ranks(data.train.sample_sizes(), lo, 0);
  const int64_t steps_per_epoch = (batches_per_epoch + cfg.accumulation - 1) / cfg.accumulation;
  Schedule schedule;
  schedule.warmup_steps = cfg.warmup_steps;
  schedule.cycle_steps =
      static_cast<int64_t>(std::llround(cfg.restart_epochs * static_cast<double>(steps_per_epoch)));
  schedule.restart_mult = cfg.restart_mult;
  schedule.min_lr_ratio = cfg.min_lr_ratio;
  // Planned over the epochs; max_steps only stops early, so a run stopped and resumed with a larger
  // max_steps follows the same schedule as one that ran through.
  schedule.total_steps = cfg.epochs * steps_per_epoch;
  Trainer trainer(model, cfg, schedule);
  int64_t total_steps = schedule.total_steps;
  if (cfg.max_steps > 0) total_steps = std::min(total_steps, cfg.max_steps);
  std::unique_ptr<GradientBuckets> buckets;
  if (world > 1) {
    std::vector<torch::Tensor> trainable;
    for (const auto& p : trainer.model()->parameters()) {
      if (p.requires_grad()) trainable.push_back(p);
    }
    buckets = std::make_unique<GradientBuckets>(trainable, policy);
  }

  TrainState state;
  state.world_size = world;
  std::optional<MetricsLog> train_log, metrics;  // rank 0's files
  if (root) {
    train_log.emplace(run_dir, "train_log", train_log_columns());
    metrics.emplace(run_dir, "metrics", metrics_columns());
  }
  if (!resume_from.empty()) {
    Checkpoint c = load_checkpoint(resume_from);
    if (c.state.world_size != world)
      throw ConfigError(
          "--resume " + resume_from + ": written by a run of " + std::to_string(c.state.world_size) +
          " rank(s); resume it with the same number (--nproc " + std::to_string(c.state.world_size) + ")");
    if (group->rank() > 0) c.rng = c.other_ranks_rng.at(static_cast<size_t>(group->rank() - 1));
    trainer.restore(c, resume_from);
    state = c.state;
    if (!c.state.rank_positions.empty())
      state.epoch_position = c.state.rank_positions.at(static_cast<size_t>(group->rank()));
    if (root) {
      train_log->truncate_after(state.step);
      metrics->truncate_after(state.step);
    }
    say("resumed at step " + std::to_string(state.step) + " (epoch " + std::to_string(state.epoch + 1) +
        ", batch " + std::to_string(state.epoch_position) + ")");
  }
  say("train: " + std::to_string(data.train.size()) + " images, val " + std::to_string(data.val.size()) +
      ", " + std::to_string(steps_per_epoch) + " steps/epoch × " + std::to_string(cfg.epochs) + " epochs" +
      (cfg.max_steps > 0 ? " (stopping at step " + std::to_string(total_steps) + ")" : "") + ", " +
      std::to_string(trainer.optimizer().trainable_parameters()) + " trainable parameters, policy " +
      cfg.policy);

  ValidationOptions vo;
  vo.batch_size = cfg.batch_size;
  vo.patch = patch;
  vo.shuffle = shuffle;
  vo.loss = cfg.loss;
  std::map<std::string, double> last_metrics;
  int64_t last_validated_step = -1;
  const auto run_validation = [&]() {
    last_validated_step = state.step;
    if (!root) return;
    if (trainer.ema()) trainer.ema()->apply(*trainer.model());
    last_metrics = validate(*trainer.model(), data.val, mean_joints, policy, vo);
    if (trainer.ema()) trainer.ema()->restore(*trainer.model());
    last_metrics["lr/heads"] = trainer.optimizer().lrs().at("lr/heads");
    last_metrics["train_seconds"] = state.train_seconds;
    metrics->append(state.epoch, state.step, last_metrics);
    say("validation after step " + std::to_string(state.step) + ": MPJPE " +
        std::to_string(last_metrics["val_mpjpe_mm"]) + " mm (mean-pose baseline " +
        std::to_string(last_metrics["baseline_mpjpe_mm"]) + " mm), PA-MPJPE " +
        std::to_string(last_metrics["val_pa_mpjpe_mm"]) + " mm");
  };
  const auto save = [&](const std::string& reason, bool validated) -> std::string {
    TrainState s = state;
    s.reason = reason;
    torch::Tensor rngs, positions;
    if (world > 1) {  // every rank's generator and data position go into rank 0's checkpoint
      rngs = group->allgather(cpu_rng_state());
      positions = group->allgather(torch::tensor({state.epoch_position}, torch::kLong));
      s.rank_positions.clear();
      for (int64_t r = 0; r < world; ++r) s.rank_positions.push_back(positions[r].item<int64_t>());
    }
    if (!root) return "";
    bool best = false;
    if (validated && std::isfinite(last_metrics["val_mpjpe_mm"]) &&
        last_metrics["val_mpjpe_mm"] < s.best_mpjpe_mm) {
      best = true;
      s.best_mpjpe_mm = last_metrics["val_mpjpe_mm"];
    }
    Checkpoint ck = trainer.make_checkpoint(s);
    for (int64_t r = 1; r < world; ++r) ck.other_ranks_rng.push_back(rngs[r].clone());
    const std::string dir = save_checkpoint(run_dir, ck, best, cfg.keep_last);
    if (best) {
      state.best_mpjpe_mm = s.best_mpjpe_mm;
      state.best_checkpoint = fs::path(dir).filename().string();
    }
    return dir;
  };

  // 5. The loop.
  const auto t_train = Clock::now();
  const double seconds_before = state.train_seconds;
  int64_t images_this_process = 0;  // every rank's images, in a distributed run
  double allreduce_seconds = 0.0;
  bool stopped_by_signal = false;
  int agreed_signal = 0;
  std::optional<TensorMap> dummy;  // V7: what a rank whose shard ran out trains on (contributes nothing)
  const auto dummy_batch = [&]() -> const TensorMap& {
    if (!dummy) {
      const vision::Batch b =
          vision::make_dummy_batch(patch, shuffle, data.train.sample(0, patch, shuffle).labels);
      dummy = precision::conform_batch(vision::model_inputs(b), policy);
    }
    return *dummy;
  };
  std::string last_checkpoint;
  while (state.epoch < cfg.epochs && state.step < total_steps && !stopped_by_signal) {
    loader.start_epoch(state.epoch, state.epoch_position);
    bool epoch_done = false;
    while (state.step < total_steps) {
      std::vector<TensorMap> micro;
      int64_t images = 0;
      while (static_cast<int64_t>(micro.size()) < cfg.accumulation) {
        std::optional<vision::Batch> b = loader.next();
        if (!b) break;
        images += b->size();
        micro.push_back(precision::conform_batch(vision::model_inputs(*b), policy));
      }
      if (world > 1) {
        // Lock-step: the ranks agree whether anyone still has data and whether anyone was asked to stop.
        const int sig = stop_signal();
        std::vector<torch::Tensor> control{torch::tensor(
            {micro.empty() ? 0.0 : 1.0, sig ? 1.0 : 0.0, sig == SIGINT ? 1.0 : 0.0}, torch::kDouble)};
        group->allreduce_sum(control);
        if (control[0][1].item<double>() > 0.0) {
          agreed_signal = control[0][2].item<double>() > 0.0 ? SIGINT : SIGTERM;
          stopped_by_signal = true;
          break;
        }
        if (control[0][0].item<double>() == 0.0) {
          epoch_done = true;
          break;
        }
        if (micro.empty()) micro.push_back(dummy_batch());
      } else if (micro.empty()) {
        epoch_done = true;
        break;
      }
      GradientBuckets::Verdict verdict;
      train::GradientReducer reduce;
      if (buckets) {
        reduce = [&](bool local_nonfinite) {
          const auto t0 = Clock::now();
          verdict = buckets->reduce(*group, static_cast<double>(images), local_nonfinite);
          allreduce_seconds += seconds_since(t0);
          return verdict.skip;
        };
      }
      train::StepResult r = trainer.step(micro, reduce);
      const int64_t local_images = images;
      if (buckets) images = static_cast<int64_t>(std::llround(verdict.global_images));
      state.epoch_position = loader.position();
      state.images += images;
      images_this_process += images;
      if (r.skipped) ++state.skipped_steps;
      state.step = trainer.steps();
      state.train_seconds = seconds_before + seconds_since(t_train);
      const double ips = static_cast<double>(images_this_process) / std::max(1e-9, seconds_since(t_train));
      const auto lrs = trainer.optimizer().lrs();
      const bool log_step = !r.skipped && (state.step % cfg.log_every == 0 || state.step == total_steps);
      if (log_step && world > 1) r = global_mean_loss(*group, r, static_cast<double>(local_images));
      if (log_step && root) {
        std::map<std::string, double> rec = r.terms;
        rec["loss"] = r.loss;
        rec["grad_norm"] = r.grad_norm;
        rec["images_per_s"] = ips;
        rec["skipped_steps"] = static_cast<double>(state.skipped_steps);
        for (const auto& [k, v] : lrs) rec[k] = v;
        train_log->append(state.epoch, state.step, rec);
      }
      progress.update({state.epoch + 1, cfg.epochs, state.step, total_steps, r.loss, lrs.at("lr/heads"), ips,
                       state.skipped_steps});
      if (world == 1 && stop_signal()) {
        agreed_signal = stop_signal();
        stopped_by_signal = true;
        break;
      }
      if (cfg.checkpoint_every > 0 && !r.skipped && state.step % cfg.checkpoint_every == 0 &&
          state.step < total_steps)
        last_checkpoint = save("interval", false);
    }
    if (stopped_by_signal) break;
    if (epoch_done) {
      // Validate, then checkpoint the finished epoch (the next run of it starts at epoch + 1, batch 0).
      run_validation();
      state.epoch += 1;
      state.epoch_position = 0;
      last_checkpoint = save("epoch", true);
      // The others wait here (with the long timeout) while rank 0 validates and writes.
      group->share_from_root("epoch-" + std::to_string(state.epoch), "");
      if (world == 1 && stop_signal()) {
        agreed_signal = stop_signal();
        stopped_by_signal = true;
      }
    }
  }
  progress.finish();
  install_stop_signals();  // a signal during the final save is taken as a stop request, not a kill

  if (stopped_by_signal) {
    last_checkpoint = save("signal", false);
    const int sig = agreed_signal;
    result.exit_code = 128 + sig;
    result.message = std::string(sig == SIGINT ? "interrupted (SIGINT)" : "stopped (SIGTERM)") +
                     ": checkpoint saved at step " + std::to_string(state.step) + " in " + last_checkpoint +
                     "; resume with: amt_ref_train --resume " + run_dir;
    warnings.push_back(result.message);
  } else if (last_validated_step != state.step) {
    // Stopped by max_steps mid-epoch: validate where it stopped and checkpoint that point.
    run_validation();
    last_checkpoint = save("final", true);
  }
  group->share_from_root("finished", "");
  if (!root) {
    if (result.message.empty()) result.message = "rank " + std::to_string(group->rank()) + ": done";
    result.state = state;
    return result;
  }

  // 6. Curves and the report.
  draw_curves(run_dir);
  report.warnings = warnings;
  for (const auto& [k, v] : last_metrics) report.final_metrics.emplace_back(k, v);
  report.baseline_mpjpe_mm =
      last_metrics.count("baseline_mpjpe_mm") ? last_metrics["baseline_mpjpe_mm"] : NAN;
  report.final_mpjpe_mm = last_metrics.count("val_mpjpe_mm") ? last_metrics["val_mpjpe_mm"] : NAN;
  report.curves_png = "curves.png";
  if (!state.best_checkpoint.empty()) {
    // The best checkpoint reloaded as `predict` and `eval` load it, on a few validation images.
    InferenceModel best = load_for_inference(run_dir + "/checkpoints/" + state.best_checkpoint, cfg.policy);
    write_prediction_grid(best, data.val, 8, 4, run_dir + "/predictions.png");
    report.predictions_png = "predictions.png";
    report.predictions_step = best.step;
  }
  report.wall_time_s = seconds_since(t_start);
  report.steps = state.step;
  report.skipped_steps = state.skipped_steps;
  report.images_per_s = static_cast<double>(images_this_process) / std::max(1e-9, seconds_since(t_train));
  report.notes.push_back("Data: " + data.root +
                         (data.synthetic ? " (synthetic, generated by the trainer)" : "") + ", setup " +
                         cfg.setup + ", " + std::to_string(data.train.size()) + " training and " +
                         std::to_string(data.val.size()) + " validation images.");
  report.notes.push_back("Training time " + std::to_string(static_cast<int>(state.train_seconds)) +
                         " s over " + std::to_string(state.images) + " images; last checkpoint " +
                         last_checkpoint + "; best " + state.best_checkpoint + ".");
  if (!resume_from.empty()) report.notes.push_back("Resumed from " + resume_from + ".");
  if (world > 1) {
    report.notes.push_back("Distributed: " + std::to_string(world) + " ranks (c10d Gloo) × batch " +
                           std::to_string(cfg.batch_size) + " = global batch " +
                           std::to_string(world * cfg.batch_size) + "; gradients all-reduced in " +
                           std::to_string(buckets->buckets().size()) + " bucket(s), " +
                           std::to_string(static_cast<int>(std::lround(
                               100.0 * allreduce_seconds / std::max(1e-9, seconds_since(t_train))))) +
                           " % of rank 0's training time; images/s counts every rank's images.");
  }
  report.notes.push_back(
      "Validation uses the EMA weights (decay " + std::to_string(cfg.ema_decay) +
      ", ramped as min(decay, (1+n)/(10+n))); ADD/ADD-S over the corners of a 10 cm cube.");
  write_run_report(run_dir + "/report.md", report);
  write_metadata(report.gate_verdict);
  result.report = run_dir + "/report.md";
  result.state = state;
  result.final_metrics = last_metrics;
  if (result.message.empty()) {
    result.message = "done: " + std::to_string(state.step) + " steps; validation MPJPE " +
                     std::to_string(report.final_mpjpe_mm) + " mm vs mean-pose baseline " +
                     std::to_string(report.baseline_mpjpe_mm) + " mm; report: " + result.report;
  }
  return result;
}

}  // namespace amt::trainer
