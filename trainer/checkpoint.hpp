// Training checkpoints: one folder per checkpoint under <run>/checkpoints/, written atomically (every file
// written and fsynced in <name>.tmp-<pid>/, the folder fsynced, then renamed into place), so a crash at any
// moment leaves either the complete checkpoint or none — never a truncated one.
//
//   step-000120/model.safetensors      every model parameter (named_parameters() keys), as trained
//   step-000120/backbone.safetensors   the backbone alone under HF key names, its HF config in the metadata
//                                      ("config"): loads with `amt_conformance embed --weights`
//   step-000120/optimizer.safetensors  AdamW state per parameter (exp_avg/, exp_avg_sq/, step/)
//   step-000120/ema.safetensors        the EMA weights (ema/<param>, ema_updates)
//   step-000120/rng.safetensors        the CPU generator state (dropout), bit for bit
//   step-000120/state.json             epoch, position in the epoch's batch plan, steps, counters, best
//   latest, best                       text files naming the newest and the best checkpoint folder
// The last `keep_last` checkpoints are kept, and the best one whatever its age.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

#include "reference/core/tensor_map.hpp"

namespace amt::trainer {

// The scalar state of a run at a checkpoint (state.json).
struct TrainState {
  int64_t epoch = 0;           // the epoch in progress
  int64_t epoch_position = 0;  // plan entries of `epoch` already consumed (the loader restarts there)
  int64_t step = 0;            // optimizer steps done
  int64_t skipped_steps = 0;   // steps skipped for a non-finite loss or gradient
  int64_t images = 0;          // training images seen
  double train_seconds = 0.0;  // wall time spent training (not gating) so far
  double best_mpjpe_mm = std::numeric_limits<double>::infinity();
  std::string best_checkpoint;  // folder name of the best checkpoint ("" before the first validation)
  std::string reason;           // why it was written: epoch, interval, signal, final
  // A distributed run (trainer/process_group.hpp): its world size (a resume must use the same) and every
  // rank's position in its own shard's batch plan (rank 0's is epoch_position).
  int64_t world_size = 1;
  std::vector<int64_t> rank_positions;
  // Dynamic loss scaling's state (precision/loss_scaler.hpp): the scale (0 = the run does not scale) and the
  // finite steps since it last changed.
  double loss_scale = 0.0;
  int64_t loss_scale_growth_tracker = 0;
};
nlohmann::json to_json(const TrainState& s);
TrainState train_state_from_json(const nlohmann::json& j, const std::string& source);

struct Checkpoint {
  TrainState state;
  TensorMap model;              // named_parameters()
  TensorMap backbone;           // HF keys
  std::string backbone_config;  // HF config.json text
  TensorMap optimizer;
  TensorMap ema;
  torch::Tensor rng;                           // uint8 generator state (rank 0's in a distributed run)
  std::vector<torch::Tensor> other_ranks_rng;  // ranks 1..W-1 of a distributed run ("rank1", ... in the file)
};

// Writes `ckpt` as <run>/checkpoints/step-<step>/ and updates `latest` (and `best` when is_best), then prunes
// to keep_last (never the best). Returns the folder. amt::IoError naming the file on any OS failure; the
// previous checkpoints are untouched by a failed write.
std::string save_checkpoint(const std::string& run_dir, const Checkpoint& ckpt, bool is_best,
                            int64_t keep_last);

// Reads a checkpoint folder, or a run folder (its `latest`). amt::CheckpointError / amt::FormatError naming
// the file and field when anything is missing or malformed.
Checkpoint load_checkpoint(const std::string& path);
// The checkpoint folder `path` designates (a checkpoint folder, or a run folder's latest); amt::IoError when
// there is none.
std::string resolve_checkpoint(const std::string& path);
// The same, but a run folder designates its `best` checkpoint (its `latest` before any validation): what
// `eval` and `predict` load.
std::string resolve_best_checkpoint(const std::string& path);

// The CPU generator's state, and restoring it (dropout masks continue exactly).
torch::Tensor cpu_rng_state();
void set_cpu_rng_state(const torch::Tensor& state);

}  // namespace amt::trainer
