// The optimiser side of training: AdamW over parameter groups (the backbone at a fraction of the LR, its
// first blocks frozen), the warmup + cosine-with-restarts schedule as a pure function of the step, and the
// EMA of the weights that validation uses. Every piece exposes its state as named tensors, so a checkpoint
// stores it in safetensors and a resume restores it bit for bit.
#pragma once
#include <torch/optim/adamw.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "reference/core/tensor_map.hpp"
#include "reference/model/amt_model.hpp"
#include "trainer/train_config.hpp"

namespace amt::trainer {

// Which backbone block a parameter of the full model belongs to: DINOv2
// "encoder.backbone.encoder.layer.<i>.", DINOv3 "encoder.backbone.layer.<i>."; -1 for any other parameter.
int64_t backbone_block_index(const std::string& param_name);
bool is_backbone_param(const std::string& param_name);  // "encoder.backbone.*"

// Whether weight decay applies to a parameter: only the weight matrices of linear and convolution layers
// (a ".weight" of two or more dimensions). Decay is a prior that a linear map should be small; on a bias,
// a norm weight or a layer-scale gamma (1-D: the LayerNorm weight's natural value is 1, not 0), a
// σ-reparametrisation scale, a token, a query, a position table or an anchor (hand.anchor is the joints'
// starting position in metres) it is a pull towards an arbitrary value. The rule is timm's and DINOv2's
// (no decay on biases, norms and gammas) plus the tokens and position tables, decided by shape and suffix
// rather than a list of names, so a new token or table is exempt without anyone remembering it.
bool is_weight_decayed(const std::string& param_name, const torch::Tensor& param);

// AdamW (β 0.9/0.999, ε 1e-8) with up to four groups: "backbone" at lr × backbone_lr_factor with
// backbone_weight_decay, "heads" (everything else) at lr with weight_decay, each split into its decayed
// parameters and a "<name>/no_decay" group at the same LR with weight decay 0 (is_weight_decayed;
// config.decay_every_parameter puts every parameter in the decayed groups, as upstream does). The first
// `freeze_blocks` backbone blocks and, when any are frozen, the patch/position embeddings get
// requires_grad = false and are in no group. Empty groups are left out.
class TrainingOptimizer {
 public:
  TrainingOptimizer(model::AmtModelImpl& model, const TrainConfig& config);

  torch::optim::AdamW& adamw() { return *adamw_; }
  // The name of each of adamw().param_groups(), in order: "backbone", "backbone/no_decay", "heads",
  // "heads/no_decay" (those that have parameters).
  const std::vector<std::string>& group_names() const { return group_names_; }
  // Sets every group's LR to its base LR × factor (the schedule's value for the coming step).
  void set_lr_factor(double factor);
  // "lr/backbone", "lr/heads": one LR per part (a part's decayed and undecayed groups share it).
  std::map<std::string, double> lrs() const;
  int64_t trainable_parameters() const;
  int64_t frozen_parameters() const { return frozen_; }

  // exp_avg/<param>, exp_avg_sq/<param>, step/<param> for every parameter with state.
  TensorMap state_tensors() const;
  // Restores state_tensors(); amt::CheckpointError naming `source` and the parameter when a tensor is missing
  // or has the wrong shape.
  void load_state_tensors(const TensorMap& state, const std::string& source);

 private:
  std::unique_ptr<torch::optim::AdamW> adamw_;
  std::vector<std::string> group_names_;
  std::vector<std::string> lr_names_;  // "backbone" or "heads" per group
  std::vector<double> base_lr_;
  std::vector<std::pair<std::string, torch::Tensor>> params_;  // in the optimizer, by model name
  int64_t frozen_ = 0;
};

// The LR multiplier for optimizer step `step` (0-based) of `total_steps`: linear warmup to 1 over
// warmup_steps, then cosine from 1 to min_lr_ratio over cycles of cycle_steps, each restart_mult × longer
// than the last (cycle_steps = 0: one cycle over the rest of the run). A pure function, so the schedule's
// state is the step alone.
struct Schedule {
  int64_t warmup_steps = 0;
  int64_t cycle_steps = 0;
  double restart_mult = 2.0;
  double min_lr_ratio = 0.0;
  int64_t total_steps = 1;
};
double lr_factor(const Schedule& schedule, int64_t step);

// Exponential moving average of the trainable parameters, kept in fp32 (fp64 under fp64) whatever the
// parameter dtype. The decay ramps up as min(decay, (1 + n) / (10 + n)) after n updates, so a short run's
// validation is not dominated by the initial weights.
class Ema {
 public:
  Ema(model::AmtModelImpl& model, double decay);
  void update(model::AmtModelImpl& model);
  int64_t updates() const { return updates_; }
  // Swaps the EMA weights into the model (apply) and back (restore).
  void apply(model::AmtModelImpl& model);
  void restore(model::AmtModelImpl& model);
  TensorMap state_tensors() const;  // ema/<param> and ema_updates
  void load_state_tensors(const TensorMap& state, const std::string& source);

 private:
  double decay_;
  int64_t updates_ = 0;
  std::map<std::string, torch::Tensor> shadow_, backup_;
};

}  // namespace amt::trainer
