// V6 and V7: the collator. One image and every field that belongs to it (grid, K, original size, scale,
// has_hand, labels) travel together as one ImageSample through filtering, shuffling and sharding, so they
// cannot fall out of step; a missing field is an error naming it, never a silent drop of the batch.
// Empty batches are skipped by the loader (data::Loader, through NonEmptyBatches); see dummy_batch.hpp for
// lock-step ranks. Batch is the one batch type: the loader yields it, model_inputs turns it into the model's
// input map.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reference/core/tensor_map.hpp"
#include "reference/vision/image_grid.hpp"
#include "reference/vision/image_size.hpp"

namespace amt::vision {

// Per-image field names in the map forms (a dataset row, or a column of a dict-of-lists batch):
//   image [3,H,W] uint8 or float · grid int64 [4] = (Hp, Wp, Gh, Gw) · K float [3,3] · original_size int64
//   [2] = (H, W) before the resize · scale float64 [2] = (H'/H, W'/W) · has_hand bool [] · every other key is
//   a label.
const std::vector<std::string>& required_image_fields();

struct ImageSample {
  int64_t id = -1;          // dataset index: provenance, so logs and tests can follow an image
  torch::Tensor image;      // [3, H, W]
  ImageGrid grid;           // computed from the resized image (V2)
  torch::Tensor K;          // [3, 3], rescaled with the image
  ImageSize original_size;  // before the resize
  double scale_y = 1.0;     // H' / H
  double scale_x = 1.0;     // W' / W
  bool has_hand = false;    // false: the frame has no hand; masked out of hand losses and metrics
  TensorMap labels;         // every other per-image field (joint_3d, pose_m, ...)
};

// Checks that every field is present and consistent (grid == make_image_grid(H, W, patch, s), K [3,3]
// floating, sizes positive, scale == size/original_size). Throws amt::ValueError / amt::ShapeError /
// amt::DtypeError naming the field and the sample id.
void validate_sample(const ImageSample& sample);

// Row form → ImageSample. Every required field must be present (amt::ValueError naming the missing one); the
// grid must be the one computed from the image with this patch and shuffle factor.
ImageSample sample_from_fields(const TensorMap& fields, int64_t patch, int64_t shuffle, int64_t id);
// ImageSample → row form (inverse of sample_from_fields).
TensorMap sample_to_fields(const ImageSample& sample);

// Column form (dict of lists, upstream's batch layout) → samples. Every required column must be present and
// all columns must have the same length; otherwise amt::ValueError naming the column (never a silent drop).
// Fault "vision.collator_drop_grids": upstream's zip over batch.get(column, []) — a missing column is an
// empty list and zip stops at the shortest, so a batch without image_grids silently becomes empty (seed 004,
// pitfall 4).
using Columns = std::map<std::string, std::vector<torch::Tensor>>;
std::vector<ImageSample> samples_from_columns(const Columns& columns, int64_t patch, int64_t shuffle,
                                              int64_t first_id = 0);

// --- filtering, shuffling, sharding: whole samples move, so every field stays with its image ---------------
struct Filtered {
  std::vector<ImageSample> kept;  // in input order
  std::vector<int64_t> dropped;   // ids of the dropped samples, in input order
};
Filtered filter_samples(const std::vector<ImageSample>& samples,
                        const std::function<bool(const ImageSample&)>& keep);
// Keeps samples in order while the running Σ Gh·Gw stays within `max_tokens`; a sample that does not fit is
// dropped and later smaller ones may still fit. amt::ConfigError for max_tokens < 1.
Filtered keep_within_token_budget(const std::vector<ImageSample>& samples, int64_t max_tokens);
// Drops frames without a hand (for steps that train hand losses only).
Filtered keep_with_hand(const std::vector<ImageSample>& samples);

// A permutation of 0..n-1 from a seed (Fisher–Yates over std::mt19937_64 with unbiased bounded draws, so it
// is the same on every platform and standard library).
std::vector<int64_t> shuffled_order(int64_t n, uint64_t seed);
std::vector<ImageSample> shuffle_samples(const std::vector<ImageSample>& samples, uint64_t seed);
// Rank r of `world` takes positions r, r + world, r + 2·world, ... of 0..n−1: every position on exactly one
// rank, no padding, so ranks differ by at most one. amt::ConfigError unless 0 ≤ rank < world. The one
// sharding rule: the loader's epoch plan and shard_samples both use it.
std::vector<int64_t> shard_positions(int64_t n, int64_t rank, int64_t world);
std::vector<ImageSample> shard_samples(const std::vector<ImageSample>& samples, int64_t rank, int64_t world);

// --- the collated batch
// ---------------------------------------------------------------------------------------
struct Batch {
  std::vector<int64_t> ids;
  std::vector<torch::Tensor> images;  // [3, H_i, W_i]; sizes differ (bucket them for the backbone, V4)
  std::vector<ImageGrid> grids;
  torch::Tensor grid;           // [N, 4] int64 (Hp, Wp, Gh, Gw)
  torch::Tensor K;              // [N, 3, 3]
  torch::Tensor original_size;  // [N, 2] int64 (H, W)
  torch::Tensor scale;          // [N, 2] float64 (H'/H, W'/W)
  torch::Tensor has_hand;       // [N] bool
  torch::Tensor valid;          // [N] bool; false only for a dummy image: nothing of it may reach a loss
  TensorMap labels;             // each [N, ...]
  bool dummy = false;

  int64_t size() const { return static_cast<int64_t>(ids.size()); }
  bool empty() const { return ids.empty(); }
  int64_t total_tokens() const;  // Σ Gh·Gw
};

// Stacks per-image fields in sample order. An empty input gives an empty batch (size 0). Throws (naming the
// field and sample id) when a sample is invalid, when a label is missing from some samples, or when a label's
// shape or dtype or K's dtype differs between samples.
Batch collate(const std::vector<ImageSample>& samples);

// The model's input map for a batch whose images share one size (one bucket, V4): image [N,3,H,W] stacked, K,
// has_hand, valid, grid and every label under its own name. amt::ShapeError naming the sizes when the images
// differ in size (bucket first), amt::ValueError for an empty batch.
TensorMap model_inputs(const Batch& batch);

// V7: wraps a batch source and never yields an empty batch.
class NonEmptyBatches {
 public:
  using Source = std::function<std::optional<Batch>()>;  // std::nullopt at the end of the epoch
  explicit NonEmptyBatches(Source source) : source_(std::move(source)) {}
  std::optional<Batch> next();
  int64_t skipped() const { return skipped_; }

 private:
  Source source_;
  int64_t skipped_ = 0;
};

}  // namespace amt::vision
