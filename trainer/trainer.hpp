// The reference trainer (docs/design.md §7). Two levels:
//   Trainer        one optimizer step at a time: the schedule's LR, gradient accumulation over micro-batches,
//                  clipping, NaN/Inf skipping (train::training_step), the EMA; checkpoints of all of it.
//   run_training   a whole run, as `amt_ref_train` does it: run folder, fault injection, the conformance
//                  gate, the data (cached dataset → loader → collator → model_inputs → conform_batch), the
//                  loop with progress, logs, validation every epoch, checkpoints, SIGINT/SIGTERM, resume,
//                  curves and the report. A run object with one method per phase (training_run.cpp).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "program/exit_codes.hpp"
#include "reference/model/amt_model.hpp"
#include "reference/precision/policy.hpp"
#include "reference/train/train_step.hpp"
#include "trainer/checkpoint.hpp"
#include "trainer/optim.hpp"
#include "trainer/process_group.hpp"
#include "trainer/train_config.hpp"

namespace amt::trainer {

// Exit codes of amt_ref_train (program/exit_codes.hpp, README): an interrupted run exits with 128 + the
// signal (130 SIGINT, 143 SIGTERM) after saving its checkpoint; a refused gate with kExitGateRefused.
using program::kExitBadInput;
using program::kExitGateRefused;
using program::kExitOk;

class Trainer {
 public:
  // `model` must already be in the policy's parameter dtype (make_amt_model).
  Trainer(model::AmtModel model, const TrainConfig& config, Schedule schedule);

  // One optimizer step over conformed micro-batches. A skipped step (non-finite loss or gradient) changes no
  // parameter, no optimizer state, no EMA and not the schedule position. `reduce_gradients`: the
  // data-parallel all-reduce of a distributed run (train_step.hpp).
  train::StepResult step(const std::vector<TensorMap>& micro_batches,
                         const train::GradientReducer& reduce_gradients = {});

  int64_t steps() const { return steps_; }  // optimizer steps taken (the schedule position)
  model::AmtModel& model() { return model_; }
  TrainingOptimizer& optimizer() { return optimizer_; }
  Ema* ema() { return ema_.get(); }
  const precision::PrecisionPolicy& policy() const { return policy_; }
  const precision::LossScaler* loss_scaler() const { return scaler_.get(); }

  // Everything but `state` comes from the trainer (model, backbone under HF names, AdamW, EMA, RNG).
  Checkpoint make_checkpoint(const TrainState& state) const;
  // Restores model, optimizer, EMA and RNG; the step count from state.step. amt::CheckpointError naming the
  // checkpoint when a tensor is missing or mismatched.
  void restore(const Checkpoint& checkpoint, const std::string& source);

 private:
  model::AmtModel model_;
  TrainConfig config_;
  precision::PrecisionPolicy policy_;
  Schedule schedule_;
  TrainingOptimizer optimizer_;
  std::unique_ptr<Ema> ema_;
  std::unique_ptr<precision::LossScaler> scaler_;  // null when the run does not scale its loss
  int64_t steps_ = 0;
};

struct RunOptions {
  std::string config = "default";          // configs/train/<name>.yaml or a path (ignored on resume)
  std::vector<std::string> overrides;      // key=value (train_config.hpp keys), applied after the config
  std::string out_dir;                     // the run folder; "" = <runs_dir>/train-<UTC time>
  std::string runs_dir = "runs";           // generated data and default run folders
  std::string resume;                      // a run folder or a checkpoint folder
  std::vector<std::string> inject_faults;  // catalogue faults switched on for the whole run
  std::string command_line;
  bool interactive = false;     // a progress bar (terminal) instead of plain lines
  std::ostream* log = nullptr;  // progress and messages (stderr in the CLI; ranks > 0 of a distributed run
                                // pass a silent stream: rank 0 alone reports)
  // Distributed training (docs/distributed.md): world_size > 1 connects the ranks; every rank runs
  // run_training with the same options but its own rank. Rank 0 alone gates, validates, writes checkpoints,
  // logs, curves and the report.
  DistOptions dist;
};

struct RunResult {
  int exit_code = kExitOk;
  std::string run_dir, report, message;  // message: the final line for the user (rank 0's)
  TrainState state;
  std::map<std::string, double> final_metrics;
};

// Bad input throws amt::Error subclasses (ConfigError, IoError, FormatError, ...) before anything is
// trained; a gate failure returns kExitGateRefused with the reason in `message`.
RunResult run_training(const RunOptions& options);

}  // namespace amt::trainer
