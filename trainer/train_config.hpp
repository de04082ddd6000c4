// What a training run is: the model, the data, the precision policy, the optimiser and schedule, the loss
// weights and the run's outputs. One YAML file (configs/train/*.yaml) with command-line overrides; every
// field is one row of one table (train_config.cpp), which reads YAML, applies `--set key=value`, writes the
// run's config.json and lists the rows in the report, so the four can never disagree.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "reference/model/amt_config.hpp"
#include "reference/train/losses.hpp"
#include "reference/vision/hand_crop.hpp"

namespace amt::trainer {

struct TrainConfig;
// The model config a run trains: configs/<model>.yaml, with hand.crop_box_m set in hand-crop mode.
model::AmtConfig run_model_config(const TrainConfig& config);
// The hand-crop spec of a run in hand-crop mode (with the jitter of training), nullopt otherwise.
std::optional<vision::HandCropSpec> run_hand_crop(const TrainConfig& config);

struct TrainConfig {
  // --- what is trained
  std::string model = "tiny";  // a configs/<name>.yaml name or a YAML path
  std::string policy = "bf16-autocast";
  uint64_t seed = 0;                // weights, dropout and data order
  std::string pretrained_backbone;  // HF DINOv2/DINOv3 safetensors; "" = random init from the seed

  // --- data: a DexYCB tree (real or synthetic) read through the toolkit's splits
  std::string data;  // DexYCB root; "" = the synthetic dataset the trainer generates (or reuses) under runs/
  std::string setup = "s0";
  std::string train_split = "train";
  std::string val_split = "val";
  int64_t synth_sequences = 5;  // per subject, for the generated dataset
  int64_t synth_frames = 6;     // per sequence (× 8 cameras)
  uint64_t synth_seed = 0;
  std::string image_storage = "uint8";
  // "hand": train and evaluate on hand crops (vision/hand_crop.hpp; frames without a hand are left out),
  // "none": the whole image, DynamicResize'd to the model's max side.
  std::string crop = "none";
  int64_t crop_size = 112;          // the crop's side (a multiple of patch × shuffle)
  double crop_margin = 1.5;         // box side / the 2-D joints' longer extent
  double crop_jitter_shift = 0.1;   // training: the box centre moves by up to this × its side
  double crop_jitter_scale = 0.15;  // training: its side scales by up to 1 ± this
  double crop_box_m = 0.25;  // metres the box spans at the hand: the anchors' depth (model hand.crop_box_m)
  int64_t max_train_samples = 0;  // 0 = the whole split (the first N in split order otherwise)
  int64_t max_val_samples = 0;
  int64_t decode_threads = 2;

  // --- the loop
  int64_t epochs = 10;
  int64_t max_steps = 0;  // optimizer steps; 0 = no limit beyond the epochs
  int64_t batch_size = 8;
  int64_t accumulation = 1;  // micro-batches per optimizer step
  double lr = 1e-3;
  double backbone_lr_factor = 0.1;  // backbone group LR = lr × this (upstream: 0.01 for a pretrained one)
  double weight_decay = 0.05;
  double backbone_weight_decay = 0.01;
  // false: weight decay only on the weight matrices of linear and convolution layers (biases, norm weights,
  // layer-scale gammas, σ-reparametrisation scales, tokens, queries, position tables and anchors get none:
  // trainer/optim.hpp, deviations T10). true: upstream's AdamW, decay on every parameter (the goldens' step).
  bool decay_every_parameter = false;
  int64_t freeze_blocks = 0;    // the first N backbone blocks (and the embeddings when N > 0) get no update
  int64_t warmup_steps = 20;    // linear warmup from lr/warmup_steps to lr
  double restart_epochs = 0.0;  // cosine cycle length in epochs; 0 = one cycle over the whole run
  double restart_mult = 2.0;    // each cycle restart_mult × longer (CosineAnnealingWarmRestarts' T_mult)
  double min_lr_ratio = 1e-3;   // the cosine's floor, as a fraction of each group's LR
  double clip_norm = 1.0;       // global gradient-norm clip; 0 = off
  // Dynamic loss scaling (precision/loss_scaler.hpp, GradScaler's semantics): auto = on for the policies that
  // need it (the fp16 ones), dynamic = on whatever the policy, off.
  std::string loss_scaling = "auto";
  double loss_scale_init = 65536.0;           // the first scale (a power of two keeps scaling exact)
  int64_t loss_scale_growth_interval = 2000;  // finite steps in a row before the scale doubles
  double ema_decay = 0.998;                   // 0 = no EMA (validation then uses the live weights)
  bool dropout = true;  // train mode (dropout on) during steps; validation is always eval mode
  train::LossWeights loss;

  // --- the run's outputs
  int64_t keep_last = 3;         // checkpoints kept besides the best
  int64_t checkpoint_every = 0;  // optimizer steps between checkpoints; 0 = at the end of every epoch
  int64_t log_every = 10;        // optimizer steps between train_log records
  std::string gate = "quick";    // quick | full | skip
};

// Reads a trainer YAML file over the defaults. amt::FormatError(file, key) for an unknown key or a value of
// the wrong type; amt::ConfigError for values out of range (check_train_config).
TrainConfig load_train_config(const std::string& path);
// The same on YAML text already in memory; `path` names it in errors (load_train_config reads the file and
// calls this; the fuzzer drives it directly).
TrainConfig parse_train_config(const std::string& text, const std::string& path);
// Applies one `key=value` override (keys as in the YAML, dotted: "optim.lr=3e-4"). amt::ConfigError naming
// the key for an unknown key or a value that does not parse.
void apply_override(TrainConfig& config, const std::string& assignment);
// amt::ConfigError naming the field for a value out of range.
void check_train_config(const TrainConfig& config);

// Every field as (dotted key, value text), in table order: the report's config table.
std::vector<std::pair<std::string, std::string>> describe(const TrainConfig& config);
// config.json of a run (resume reads it back, so a resumed run trains exactly what was started).
nlohmann::json to_json(const TrainConfig& config);
TrainConfig from_json(const nlohmann::json& j, const std::string& source);

// configs/train/<name>.yaml found the way model configs are (project_dirs), or `name` itself when it is a
// path. amt::IoError listing where it looked.
std::string find_train_config(const std::string& name);

}  // namespace amt::trainer
