// run_training (trainer.hpp) as a run object: one method per phase, called by run_training in order, the
// state the phases share held in named members. The phases' order is also the order of the collectives (the
// ranks must meet in the same calls) and of the random draws (a resumed run must continue bit-exactly).
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>

#include "reference/core/error.hpp"
#include "reference/data/loader.hpp"
#include "reference/io/curves_png.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/json_file.hpp"
#include "reference/model/amt_config.hpp"
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
#include "trainer/trainer.hpp"
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

// The micro-batches of one optimizer step, and this rank's images in them.
struct StepBatches {
  std::vector<TensorMap> micro;
  int64_t images = 0;
};

// What the ranks agree to do once each has gathered its micro-batches for the next step.
enum class Next { kStep, kEpochDone, kStop };

class TrainingRun {
 public:
  explicit TrainingRun(const RunOptions& options);

  // The phases, in the order run_training calls them.
  void load_config();    // the YAML (or, on resume, the run's own config.json) and the overrides
  void connect_ranks();  // the process group and the run folder
  void switch_faults();  // on for the whole run, so the gate can be seen to refuse
  void begin_report();
  bool pass_gate();  // false: refused (take_result() says why)
  void load_data();
  RunResult interrupted_before_training();
  void build_trainer();  // model, loader, schedule, trainer, gradient buckets
  void open_logs();
  void resume();
  void train();
  void finish_training();  // the signal's or the final checkpoint; every rank meets rank 0 one last time
  bool is_root() const { return root_; }
  RunResult rank_result();  // a rank > 0's result: rank 0 alone reports
  void write_report();
  RunResult take_result() { return std::move(result_); }

 private:
  void say(const std::string& s) { progress_.message(s); }
  void write_metadata(const std::string& verdict);
  bool gate_on_root();
  model::AmtModel build_model();
  Schedule plan_schedule() const;
  std::string plan_line();
  ValidationOptions validation_options() const;

  // The loop's parts.
  StepBatches next_batches();
  Next agree_on_next(StepBatches& batches);
  const TensorMap& dummy_batch();
  train::StepResult step(const StepBatches& batches);
  bool reduce_gradients(double local_images, bool local_nonfinite, GradientBuckets::Verdict& verdict);
  void report_step(train::StepResult r, int64_t local_images);
  bool check_stop_signal();
  void maybe_checkpoint(const train::StepResult& r);
  void finish_epoch();
  void run_validation();
  std::string write_checkpoint(const std::string& reason, bool validated);
  void add_report_notes();

  const RunOptions& o_;
  const Clock::time_point t_start_;
  // One progress object for the bar and every message, so a message never lands on the bar's line (each
  // update carries its own total).
  Progress progress_;
  RunResult result_;

  TrainConfig cfg_;
  std::string run_dir_;
  std::string resume_from_;  // the checkpoint folder, "" for a new run
  precision::PrecisionPolicy policy_;
  model::AmtConfig mc_;

  // The ranks (a group of one without --nproc / WORLD_SIZE). Rank 0 alone writes anything; the others train
  // their shard and wait for rank 0 where it works alone (gate, data, validation).
  std::unique_ptr<ProcessGroup> group_;
  bool root_ = true;
  int64_t world_ = 1;

  std::vector<std::string> warnings_;
  RunReport report_;

  TrainData data_;
  torch::Tensor mean_joints_;
  int64_t patch_ = 0, shuffle_ = 0;
  std::optional<data::Loader> loader_;  // reads data_.train
  int64_t steps_per_epoch_ = 0;
  std::optional<Trainer> trainer_;
  int64_t total_steps_ = 0;                   // the planned steps, or max_steps when that stops earlier
  std::unique_ptr<GradientBuckets> buckets_;  // a distributed run's all-reduce

  TrainState state_;
  std::optional<MetricsLog> train_log_, metrics_;  // rank 0's files
  std::map<std::string, double> last_metrics_;
  int64_t last_validated_step_ = -1;

  Clock::time_point t_train_;
  double seconds_before_ = 0.0;      // training time of the run before its resume
  int64_t images_this_process_ = 0;  // every rank's images, in a distributed run
  double allreduce_seconds_ = 0.0;
  bool stopped_by_signal_ = false;
  int agreed_signal_ = 0;
  std::optional<TensorMap> dummy_;  // V7: what a rank whose shard ran out trains on (contributes nothing)
  std::string last_checkpoint_;
};

TrainingRun::TrainingRun(const RunOptions& options)
    : o_(options),
      t_start_(Clock::now()),
      progress_(options.log ? *options.log : std::cerr, options.interactive, 1) {}

void TrainingRun::load_config() {
  run_dir_ = o_.out_dir;
  if (!o_.resume.empty()) {
    resume_from_ = resolve_checkpoint(o_.resume);
    run_dir_ = fs::path(resume_from_).parent_path().parent_path().string();
    const std::string cfg_file = run_dir_ + "/config.json";
    cfg_ = from_json(io::load_json_file(cfg_file), cfg_file);
    for (const auto& a : o_.overrides) {
      if (!resumable_override(a))
        throw ConfigError("--resume: '" + a.substr(0, a.find('=')) +
                          "' cannot change when resuming (it would train something else than " + run_dir_ +
                          " started); only epochs, max steps and run.* may");
      apply_override(cfg_, a);
    }
  } else {
    cfg_ = load_train_config(find_train_config(o_.config));
    for (const auto& a : o_.overrides) apply_override(cfg_, a);
    if (run_dir_.empty()) run_dir_ = (fs::path(o_.runs_dir) / ("train-" + utc_stamp())).string();
  }
  check_train_config(cfg_);
  policy_ = precision::PrecisionPolicy::parse(cfg_.policy);
  mc_ = run_model_config(cfg_);
}

void TrainingRun::connect_ranks() {
  group_ = ProcessGroup::connect(o_.dist);
  root_ = group_->is_root();
  world_ = group_->world_size();
  run_dir_ =
      group_->share_from_root("run_dir", run_dir_);  // the default folder name has rank 0's clock in it
  if (root_) {
    fs::create_directories(run_dir_);
    if (resume_from_.empty()) io::write_file_atomic(run_dir_ + "/config.json", to_json(cfg_).dump(2) + "\n");
  }
  result_.run_dir = run_dir_;
  say("run: " + run_dir_ + (resume_from_.empty() ? "" : " (resuming from " + resume_from_ + ")") +
      (world_ > 1 ? ", " + std::to_string(world_) + " ranks (Gloo)" : ""));
}

void TrainingRun::switch_faults() {
  for (const auto& f : o_.inject_faults) set_fault(f, true);
  if (!o_.inject_faults.empty()) {
    std::string names;
    for (const auto& f : o_.inject_faults) names += (names.empty() ? "" : ", ") + f;
    warnings_.push_back("fault switches were on for this run: " + names);
  }
}

void TrainingRun::begin_report() {
  report_.title = "amt_ref_train: " + mc_.name + ", " + cfg_.policy;
  report_.command_line = o_.command_line;
  report_.config = describe(cfg_);
}

void TrainingRun::write_metadata(const std::string& verdict) {
  if (!root_) return;
  nlohmann::json meta = {{"world_size", world_},
                         {"command_line", o_.command_line},
                         {"platform", precision::to_json(precision::platform())},
                         {"gate", cfg_.gate},
                         {"gate_verdict", verdict},
                         {"warnings", warnings_},
                         {"faults", o_.inject_faults},
                         {"resumed_from", resume_from_}};
  io::write_file_atomic(run_dir_ + "/run.json", meta.dump(2) + "\n");
}

bool TrainingRun::pass_gate() {
  if (cfg_.gate == "skip") {
    warnings_.push_back(
        "THE CONFORMANCE GATE WAS SKIPPED (--gate skip): nothing proves that this run trained "
        "the reference; do not report its numbers as conformant");
    say("WARNING: " + warnings_.back());
    report_.gate_verdict = "skipped";
    report_.gate_summary = "The gate was skipped on request (`--gate skip`).";
  } else if (!root_) {
    // Rank 0 gates for every rank; the others wait for its verdict.
    const std::string verdict = group_->share_from_root("gate", "");
    if (verdict != "passed") {
      result_.exit_code = kExitGateRefused;
      result_.message = "rank 0's conformance gate refused: nothing trained";
      return false;
    }
  } else if (!gate_on_root()) {
    return false;
  }
  write_metadata(report_.gate_verdict);
  return true;
}

// Rank 0's gate: its reports, its verdict shared with the others; on a refusal the run's report and result.
bool TrainingRun::gate_on_root() {
  GateOptions go;
  go.mode = cfg_.gate;
  go.config = cfg_.model;
  go.policy = cfg_.policy;
  go.seed = cfg_.seed;
  go.progress = [this](const std::string& s) { say(s); };
  const GateResult gate = run_gate(go);
  write_gate_reports(run_dir_, gate);
  group_->share_from_root("gate", gate.passed ? "passed" : "failed");
  say("gate: " + gate.summary + " (" + std::to_string(static_cast<int>(gate.seconds)) + " s)");
  report_.gate_verdict = gate.passed ? "passed" : "failed";
  report_.gate_summary = gate.summary + (gate.passed ? "" : "\n\n" + gate.reason) +
                         "\n\nDetails: [conformance.md](conformance.md).";
  if (gate.passed) return true;
  report_.warnings = warnings_;
  report_.wall_time_s = seconds_since(t_start_);
  report_.notes.push_back("Nothing was trained: the gate refused.");
  write_run_report(run_dir_ + "/report.md", report_);
  write_metadata("failed");
  result_.exit_code = kExitGateRefused;
  result_.report = run_dir_ + "/report.md";
  result_.message = gate.reason;
  return false;
}

void TrainingRun::load_data() {
  // Seeding after the gate: a run with the gate and one without train the same. Dropout differs per rank (as
  // under DDP); rank 0 draws what a one-rank run draws.
  torch::manual_seed(cfg_.seed + static_cast<uint64_t>(group_->rank()) * 1000003u);
  // Rank 0 generates and caches the data first; the others then find it (or, on another host without a
  // shared folder, make the same deterministic copy).
  if (!root_) group_->share_from_root("data", "");
  data_ = prepare_data(cfg_, mc_, o_.runs_dir, [this](const std::string& s) { say(s); });
  if (root_) group_->share_from_root("data", "ready");
  if (cfg_.crop == "hand" && cfg_.crop_box_m == 0.0) {
    // Resolved once, from the training crops, and recorded: a resume and `eval` build the same model.
    cfg_.crop_box_m = measure_crop_box_m(data_.train);
    mc_ = run_model_config(cfg_);
    if (root_) io::write_file_atomic(run_dir_ + "/config.json", to_json(cfg_).dump(2) + "\n");
    report_.config = describe(cfg_);  // the report shows the box the run trained with, as config.json does
    say("data: the hand-crop box spans " + std::to_string(cfg_.crop_box_m) + " m at the hand (median)");
  }
  mean_joints_ = mean_pose(data_.train);
}

RunResult TrainingRun::interrupted_before_training() {
  result_.exit_code = program::kExitSignalBase + stop_signal();
  result_.message = "interrupted before the first step; nothing was trained";
  return take_result();
}

model::AmtModel TrainingRun::build_model() {
  model::AmtModel model = model::make_amt_model(mc_, cfg_.seed, policy_);
  if (!cfg_.pretrained_backbone.empty())
    model::load_pretrained_backbone(*model, cfg_.pretrained_backbone, policy_);
  if (world_ > 1) {
    // Every replica starts from rank 0's weights.
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> state;
    for (const auto& p : model->parameters()) state.push_back(p.data());
    for (const auto& b : model->buffers()) state.push_back(b.data());
    group_->broadcast(state, 0);
  }
  return model;
}

Schedule TrainingRun::plan_schedule() const {
  Schedule schedule;
  schedule.warmup_steps = cfg_.warmup_steps;
  schedule.cycle_steps =
      static_cast<int64_t>(std::llround(cfg_.restart_epochs * static_cast<double>(steps_per_epoch_)));
  schedule.restart_mult = cfg_.restart_mult;
  schedule.min_lr_ratio = cfg_.min_lr_ratio;
  // Planned over the epochs; max_steps only stops early, so a run stopped and resumed with a larger
  // max_steps follows the same schedule as one that ran through.
  schedule.total_steps = cfg_.epochs * steps_per_epoch_;
  return schedule;
}

void TrainingRun::build_trainer() {
  model::AmtModel model = build_model();
  patch_ = mc_.backbone.patch_size;
  shuffle_ = mc_.token_shuffle;
  data::LoaderOptions lo;
  lo.batch_size = cfg_.batch_size;
  lo.shuffle = true;
  lo.seed = cfg_.seed;
  lo.rank = group_->rank();
  lo.world_size = world_;
  lo.crop_jitter = true;  // a no-op unless the cache holds hand crops
  loader_.emplace(data_.train, lo, patch_, shuffle_);
  // In lock-step every rank takes as many steps as the rank with the most batches (dummies fill the rest).
  const int64_t batches_per_epoch = data::max_batches_over_ranks(data_.train.sample_sizes(), lo, 0);
  steps_per_epoch_ = (batches_per_epoch + cfg_.accumulation - 1) / cfg_.accumulation;
  const Schedule schedule = plan_schedule();
  trainer_.emplace(model, cfg_, schedule);
  total_steps_ = schedule.total_steps;
  if (cfg_.max_steps > 0) total_steps_ = std::min(total_steps_, cfg_.max_steps);
  if (world_ > 1) {
    std::vector<torch::Tensor> trainable;
    for (const auto& p : trainer_->model()->parameters()) {
      if (p.requires_grad()) trainable.push_back(p);
    }
    buckets_ = std::make_unique<GradientBuckets>(trainable, policy_);
  }
}

void TrainingRun::open_logs() {
  state_.world_size = world_;
  if (root_) {
    train_log_.emplace(run_dir_, "train_log", train_log_columns());
    metrics_.emplace(run_dir_, "metrics", metrics_columns());
  }
}

void TrainingRun::resume() {
  if (resume_from_.empty()) return;
  Checkpoint c = load_checkpoint(resume_from_);
  if (c.state.world_size != world_)
    throw ConfigError(
        "--resume " + resume_from_ + ": written by a run of " + std::to_string(c.state.world_size) +
        " rank(s); resume it with the same number (--nproc " + std::to_string(c.state.world_size) + ")");
  if (group_->rank() > 0) c.rng = c.other_ranks_rng.at(static_cast<size_t>(group_->rank() - 1));
  trainer_->restore(c, resume_from_);
  state_ = c.state;
  if (!c.state.rank_positions.empty())
    state_.epoch_position = c.state.rank_positions.at(static_cast<size_t>(group_->rank()));
  if (root_) {
    train_log_->truncate_after(state_.step);
    metrics_->truncate_after(state_.step);
  }
  say("resumed at step " + std::to_string(state_.step) + " (epoch " + std::to_string(state_.epoch + 1) +
      ", batch " + std::to_string(state_.epoch_position) + ")");
}

std::string TrainingRun::plan_line() {
  return "train: " + std::to_string(data_.train.size()) + " images, val " + std::to_string(data_.val.size()) +
         ", " + std::to_string(steps_per_epoch_) + " steps/epoch × " + std::to_string(cfg_.epochs) +
         " epochs" + (cfg_.max_steps > 0 ? " (stopping at step " + std::to_string(total_steps_) + ")" : "") +
         ", " + std::to_string(trainer_->optimizer().trainable_parameters()) +
         " trainable parameters, policy " + cfg_.policy;
}

// The lock-step loop: every rank takes the same steps, meets the others in the same collectives in the same
// order, and stops at the same step.
void TrainingRun::train() {
  say(plan_line());
  t_train_ = Clock::now();
  seconds_before_ = state_.train_seconds;
  while (state_.epoch < cfg_.epochs && state_.step < total_steps_ && !stopped_by_signal_) {
    loader_->start_epoch(state_.epoch, state_.epoch_position);
    bool epoch_done = false;
    while (state_.step < total_steps_) {
      StepBatches batches = next_batches();
      const Next next = agree_on_next(batches);
      if (next != Next::kStep) {
        epoch_done = next == Next::kEpochDone;
        break;
      }
      const train::StepResult r = step(batches);
      report_step(r, batches.images);
      if (check_stop_signal()) break;
      maybe_checkpoint(r);
    }
    if (stopped_by_signal_) break;
    if (epoch_done) finish_epoch();
  }
}

StepBatches TrainingRun::next_batches() {
  StepBatches b;
  while (static_cast<int64_t>(b.micro.size()) < cfg_.accumulation) {
    std::optional<vision::Batch> batch = loader_->next();
    if (!batch) break;
    b.images += batch->size();
    b.micro.push_back(precision::conform_batch(vision::model_inputs(*batch), policy_));
  }
  return b;
}

Next TrainingRun::agree_on_next(StepBatches& batches) {
  if (world_ == 1) return batches.micro.empty() ? Next::kEpochDone : Next::kStep;
  // Lock-step: the ranks agree whether anyone still has data and whether anyone was asked to stop.
  const int sig = stop_signal();
  std::vector<torch::Tensor> control{torch::tensor(
      {batches.micro.empty() ? 0.0 : 1.0, sig ? 1.0 : 0.0, sig == SIGINT ? 1.0 : 0.0}, torch::kDouble)};
  group_->allreduce_sum(control);
  if (control[0][1].item<double>() > 0.0) {
    agreed_signal_ = control[0][2].item<double>() > 0.0 ? SIGINT : SIGTERM;
    stopped_by_signal_ = true;
    return Next::kStop;
  }
  if (control[0][0].item<double>() == 0.0) return Next::kEpochDone;
  if (batches.micro.empty()) batches.micro.push_back(dummy_batch());
  return Next::kStep;
}

const TensorMap& TrainingRun::dummy_batch() {
  if (!dummy_) {
    const vision::Batch b =
        vision::make_dummy_batch(patch_, shuffle_, data_.train.sample(0, patch_, shuffle_).labels);
    dummy_ = precision::conform_batch(vision::model_inputs(b), policy_);
  }
  return *dummy_;
}

// One optimizer step and the run's counters after it.
train::StepResult TrainingRun::step(const StepBatches& batches) {
  GradientBuckets::Verdict verdict;
  train::GradientReducer reduce;
  if (buckets_) {
    reduce = [this, &batches, &verdict](bool local_nonfinite) {
      return reduce_gradients(static_cast<double>(batches.images), local_nonfinite, verdict);
    };
  }
  const train::StepResult r = trainer_->step(batches.micro, reduce);
  const int64_t images =
      buckets_ ? static_cast<int64_t>(std::llround(verdict.global_images)) : batches.images;
  state_.epoch_position = loader_->position();
  state_.images += images;
  images_this_process_ += images;
  if (r.skipped) ++state_.skipped_steps;
  state_.step = trainer_->steps();
  state_.train_seconds = seconds_before_ + seconds_since(t_train_);
  return r;
}

bool TrainingRun::reduce_gradients(double local_images, bool local_nonfinite,
                                   GradientBuckets::Verdict& verdict) {
  const auto t0 = Clock::now();
  verdict = buckets_->reduce(*group_, local_images, local_nonfinite);
  allreduce_seconds_ += seconds_since(t0);
  return verdict.skip;
}

// The training log (every log_every steps and the last) and the progress line.
void TrainingRun::report_step(train::StepResult r, int64_t local_images) {
  const double ips = static_cast<double>(images_this_process_) / std::max(1e-9, seconds_since(t_train_));
  const auto lrs = trainer_->optimizer().lrs();
  const bool log_step = !r.skipped && (state_.step % cfg_.log_every == 0 || state_.step == total_steps_);
  if (log_step && world_ > 1) r = global_mean_loss(*group_, r, static_cast<double>(local_images));
  if (log_step && root_) {
    std::map<std::string, double> rec = r.terms;
    rec["loss"] = r.loss;
    rec["grad_norm"] = r.grad_norm;
    rec["images_per_s"] = ips;
    rec["skipped_steps"] = static_cast<double>(state_.skipped_steps);
    for (const auto& [k, v] : lrs) rec[k] = v;
    train_log_->append(state_.epoch, state_.step, rec);
  }
  progress_.update({state_.epoch + 1, cfg_.epochs, state_.step, total_steps_, r.loss, lrs.at("lr/heads"), ips,
                    state_.skipped_steps});
}

// A one-rank run reads the signal flag itself; the ranks of a distributed one agree on it in agree_on_next.
bool TrainingRun::check_stop_signal() {
  if (world_ > 1 || !stop_signal()) return false;
  agreed_signal_ = stop_signal();
  stopped_by_signal_ = true;
  return true;
}

void TrainingRun::maybe_checkpoint(const train::StepResult& r) {
  if (cfg_.checkpoint_every > 0 && !r.skipped && state_.step % cfg_.checkpoint_every == 0 &&
      state_.step < total_steps_)
    last_checkpoint_ = write_checkpoint("interval", false);
}

void TrainingRun::finish_epoch() {
  // Validate, then checkpoint the finished epoch (the next run of it starts at epoch + 1, batch 0).
  run_validation();
  state_.epoch += 1;
  state_.epoch_position = 0;
  last_checkpoint_ = write_checkpoint("epoch", true);
  // The others wait here (with the long timeout) while rank 0 validates and writes.
  group_->share_from_root("epoch-" + std::to_string(state_.epoch), "");
  check_stop_signal();
}

ValidationOptions TrainingRun::validation_options() const {
  ValidationOptions vo;
  vo.batch_size = cfg_.batch_size;
  vo.patch = patch_;
  vo.shuffle = shuffle_;
  vo.loss = cfg_.loss;
  return vo;
}

// Rank 0 validates the EMA weights (then puts the trained ones back); the others only note the step.
void TrainingRun::run_validation() {
  last_validated_step_ = state_.step;
  if (!root_) return;
  Trainer& t = *trainer_;
  if (t.ema()) t.ema()->apply(*t.model());
  last_metrics_ = validate(*t.model(), data_.val, mean_joints_, policy_, validation_options());
  if (t.ema()) t.ema()->restore(*t.model());
  last_metrics_["lr/heads"] = t.optimizer().lrs().at("lr/heads");
  last_metrics_["train_seconds"] = state_.train_seconds;
  metrics_->append(state_.epoch, state_.step, last_metrics_);
  say("validation after step " + std::to_string(state_.step) + ": MPJPE " +
      std::to_string(last_metrics_["val_mpjpe_mm"]) + " mm (mean-pose baseline " +
      std::to_string(last_metrics_["baseline_mpjpe_mm"]) + " mm), PA-MPJPE " +
      std::to_string(last_metrics_["val_pa_mpjpe_mm"]) + " mm");
}

// Every rank takes part (the generators and data positions are gathered); rank 0 writes and returns the
// checkpoint folder, the others "".
std::string TrainingRun::write_checkpoint(const std::string& reason, bool validated) {
  TrainState s = state_;
  s.reason = reason;
  torch::Tensor rngs, positions;
  if (world_ > 1) {  // every rank's generator and data position go into rank 0's checkpoint
    rngs = group_->allgather(cpu_rng_state());
    positions = group_->allgather(torch::tensor({state_.epoch_position}, torch::kLong));
    s.rank_positions.clear();
    for (int64_t r = 0; r < world_; ++r) s.rank_positions.push_back(positions[r].item<int64_t>());
  }
  if (!root_) return "";
  bool best = false;
  if (validated && std::isfinite(last_metrics_["val_mpjpe_mm"]) &&
      last_metrics_["val_mpjpe_mm"] < s.best_mpjpe_mm) {
    best = true;
    s.best_mpjpe_mm = last_metrics_["val_mpjpe_mm"];
  }
  Checkpoint ck = trainer_->make_checkpoint(s);
  for (int64_t r = 1; r < world_; ++r) ck.other_ranks_rng.push_back(rngs[r].clone());
  const std::string dir = save_checkpoint(run_dir_, ck, best, cfg_.keep_last);
  if (best) {
    state_.best_mpjpe_mm = s.best_mpjpe_mm;
    state_.best_checkpoint = fs::path(dir).filename().string();
  }
  return dir;
}

void TrainingRun::finish_training() {
  progress_.finish();
  install_stop_signals();  // a signal during the final save is taken as a stop request, not a kill
  if (stopped_by_signal_) {
    last_checkpoint_ = write_checkpoint("signal", false);
    const int sig = agreed_signal_;
    result_.exit_code = program::kExitSignalBase + sig;
    result_.message = std::string(sig == SIGINT ? "interrupted (SIGINT)" : "stopped (SIGTERM)") +
                      ": checkpoint saved at step " + std::to_string(state_.step) + " in " +
                      last_checkpoint_ + "; resume with: amt_ref_train --resume " + run_dir_;
    warnings_.push_back(result_.message);
  } else if (last_validated_step_ != state_.step) {
    // Stopped by max_steps mid-epoch: validate where it stopped and checkpoint that point.
    run_validation();
    last_checkpoint_ = write_checkpoint("final", true);
  }
  group_->share_from_root("finished", "");
}

RunResult TrainingRun::rank_result() {
  if (result_.message.empty()) result_.message = "rank " + std::to_string(group_->rank()) + ": done";
  result_.state = state_;
  return take_result();
}

// Curves and the report (rank 0).
void TrainingRun::write_report() {
  draw_curves(run_dir_);
  report_.warnings = warnings_;
  for (const auto& [k, v] : last_metrics_) report_.final_metrics.emplace_back(k, v);
  report_.baseline_mpjpe_mm =
      last_metrics_.count("baseline_mpjpe_mm") ? last_metrics_["baseline_mpjpe_mm"] : NAN;
  report_.final_mpjpe_mm = last_metrics_.count("val_mpjpe_mm") ? last_metrics_["val_mpjpe_mm"] : NAN;
  report_.curves_png = "curves.png";
  if (!state_.best_checkpoint.empty()) {
    // The best checkpoint reloaded as `predict` and `eval` load it, on a few validation images.
    InferenceModel best =
        load_for_inference(run_dir_ + "/checkpoints/" + state_.best_checkpoint, cfg_.policy);
    write_prediction_grid(best, data_.val, 8, 4, run_dir_ + "/predictions.png");
    report_.predictions_png = "predictions.png";
    report_.predictions_step = best.step;
  }
  report_.wall_time_s = seconds_since(t_start_);
  report_.steps = state_.step;
  report_.skipped_steps = state_.skipped_steps;
  report_.images_per_s = static_cast<double>(images_this_process_) / std::max(1e-9, seconds_since(t_train_));
  add_report_notes();
  write_run_report(run_dir_ + "/report.md", report_);
  write_metadata(report_.gate_verdict);
  result_.report = run_dir_ + "/report.md";
  result_.state = state_;
  result_.final_metrics = last_metrics_;
  if (result_.message.empty()) {
    result_.message = "done: " + std::to_string(state_.step) + " steps; validation MPJPE " +
                      std::to_string(report_.final_mpjpe_mm) + " mm vs mean-pose baseline " +
                      std::to_string(report_.baseline_mpjpe_mm) + " mm; report: " + result_.report;
  }
}

void TrainingRun::add_report_notes() {
  report_.notes.push_back("Data: " + data_.root +
                          (data_.synthetic ? " (synthetic, generated by the trainer)" : "") + ", setup " +
                          cfg_.setup + ", " + std::to_string(data_.train.size()) + " training and " +
                          std::to_string(data_.val.size()) + " validation images.");
  report_.notes.push_back("Training time " + std::to_string(static_cast<int>(state_.train_seconds)) +
                          " s over " + std::to_string(state_.images) + " images; last checkpoint " +
                          last_checkpoint_ + "; best " + state_.best_checkpoint + ".");
  if (!resume_from_.empty()) report_.notes.push_back("Resumed from " + resume_from_ + ".");
  if (world_ > 1) {
    report_.notes.push_back("Distributed: " + std::to_string(world_) + " ranks (c10d Gloo) × batch " +
                            std::to_string(cfg_.batch_size) + " = global batch " +
                            std::to_string(world_ * cfg_.batch_size) + "; gradients all-reduced in " +
                            std::to_string(buckets_->buckets().size()) + " bucket(s), " +
                            std::to_string(static_cast<int>(std::lround(
                                100.0 * allreduce_seconds_ / std::max(1e-9, seconds_since(t_train_))))) +
                            " % of rank 0's training time; images/s counts every rank's images.");
  }
  report_.notes.push_back(
      "Validation uses the EMA weights (decay " + std::to_string(cfg_.ema_decay) +
      ", ramped as min(decay, (1+n)/(10+n))); ADD/ADD-S over the corners of a 10 cm cube.");
}

}  // namespace

RunResult run_training(const RunOptions& options) {
  TrainingRun run(options);
  run.load_config();
  run.connect_ranks();
  run.switch_faults();
  run.begin_report();
  if (!run.pass_gate()) return run.take_result();
  // From here a SIGINT/SIGTERM is a request: before the first step the run just ends, after it a checkpoint
  // is saved first. (During the gate the default action stands: there is nothing to save.)
  install_stop_signals();
  run.load_data();
  if (stop_signal()) return run.interrupted_before_training();
  run.build_trainer();
  run.open_logs();
  run.resume();
  run.train();
  run.finish_training();
  if (!run.is_root()) return run.rank_result();
  run.write_report();
  return run.take_result();
}

}  // namespace amt::trainer
