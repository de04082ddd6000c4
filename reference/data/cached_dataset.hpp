// The cached dataset (docs/design.md P4): decoded, resized samples held in memory as N-major tensors and
// saved as one safetensors file.
//
// Storage dtypes — the data layer stores, it never picks compute dtypes (P1; the boundary converts):
//   images       uint8 (default: exact, 4× smaller than fp32) [0..255]; or bf16 / fp32 holding
//   ImageNet-normalised
//                values (upstream's bf16 choice). Kept flat: `images` is 1-D, image i is the [3,H_i,W_i]
//                slice at image_offset[i], so any mix of sizes costs exactly Σ 3·H·W elements and no padding.
//   labels, K, E, poses   float32 (never below fp32); scale float64
//   masks        bool (has_hand, joint_valid, is_left); ids, counts, sizes int64
// A reload restores every field with exactly the dtype it was saved with, and rejects a file whose fields do
// not have the documented dtypes (upstream's reload cast everything to the image dtype; hazard 4).
//
// Per-sample fields (N = samples):
//   image_offset [N] i64, image_hw [N,2] i64 (stored size), original_hw [N,2] i64, scale [N,2] f64 (H'/H,
//   W'/W) K [N,3,3] f32 (rescaled to the stored image), E [N,4,4] f32 (identity: DexYCB labels are
//   camera-frame) joint_3d [N,21,3] f32 (m), joint_2d [N,21,2] f32 (px of the stored image), joint_valid
//   [N,21] bool, has_hand [N] bool, pose_m [N,51] f32, mano_betas [N,10] f32, is_left [N] bool, object_poses
//   [N,10,3,4] f32 (pose_y, zero-padded), object_ids [N,10] i64 (0 = empty slot), num_objects [N] i64,
//   grasp_index [N] i64, grasped_object_id [N] i64, grasped_pose [N,3,4] f32,
//   sample_index [N] i64 (index in the reader's split), serial_index [N] i64, subject_index [N] i64, frame
//   [N] i64; a hand-crop cache adds crop_box [N,3] f64 (x0, y0, side of the stored context crop in the
//   source image's pixels) and keeps K and joint_2d in the context crop's pixels
// A sample (sample()) is a vision::ImageSample: the image [3,H,W] in the storage dtype, its grid, K,
// original size, scale and has_hand, and every other per-sample field as a label (E, joint_3d, ...); its id
// is its position in this cache. A batch (batch()) is those samples through the vision collator, so every
// field travels with its image (V6); vision::model_inputs then gives names that match precision::field_role
// (image, K, E; bool/int kept; other floats are labels) for precision::conform_batch.
#pragma once
#include <torch/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reference/core/tensor_map.hpp"
#include "reference/data/dexycb_reader.hpp"
#include "reference/vision/collator.hpp"
#include "reference/vision/hand_crop.hpp"
#include "reference/vision/image_size.hpp"

namespace amt::data {

enum class ImageStorage { kUInt8, kBFloat16, kFloat32 };
std::string image_storage_name(ImageStorage storage);       // "uint8", "bf16", "fp32"
ImageStorage parse_image_storage(const std::string& name);  // amt::ConfigError otherwise
torch::ScalarType image_storage_dtype(ImageStorage storage);

// DynamicResize parameters (vision/dynamic_resize.hpp): q = patch × shuffle factor.
struct ResizeSpec {
  int64_t q = 14;
  int64_t max_side = 224;
  bool allow_upscale = true;
};

// The image step of the cache, one function so that it is the one place to change: RGB uint8 →
// (DynamicResize, with K rescaled by the vision convention) → [3,H,W] in the storage dtype.
struct PreparedImage {
  torch::Tensor image;  // [3,H,W], storage dtype
  vision::ImageSize original_size;
  vision::ImageSize size;
  double scale_y = 1.0, scale_x = 1.0;
  ColorIntrinsics K;  // for `size`
};
PreparedImage prepare_image(const cv::Mat& rgb, const ColorIntrinsics& K,
                            const std::optional<ResizeSpec>& resize, ImageStorage storage);
// The crop step instead: `box` of the source image resampled to side × side (uint8), K cropped with it.
PreparedImage prepare_crop(const cv::Mat& rgb, const ColorIntrinsics& K, const vision::CropBox& box,
                           int64_t side);

struct CacheOptions {
  ImageStorage storage = ImageStorage::kUInt8;
  std::optional<ResizeSpec> resize;  // nullopt: keep the native 640×480
  // Hand-crop mode (vision/hand_crop.hpp), instead of `resize`; uint8 storage only. Only frames with a hand
  // are kept (hand-pose benchmarks score those), each stored as its context crop: the ground-truth box grown
  // by hand_crop_context(spec) so that every jittered box lies inside it, resampled to
  // hand_crop_stored_side(spec) pixels. sample() cuts the final size × size crop from it.
  std::optional<vision::HandCropSpec> crop;
  int threads = 1;  // decode/resize workers
};

// Context of a stored crop: (1 + jitter_scale + 2·jitter_shift) × the box, so that a jittered box stays
// inside; 1 without jitter (evaluation caches store the final crop itself).
double hand_crop_context(const vision::HandCropSpec& spec);
int64_t hand_crop_stored_side(const vision::HandCropSpec& spec);

// Training's crop jitter: sample i of `epoch` draws its box from (seed, epoch, i) alone, so a run, its
// resume and every rank draw the same crops.
struct CropJitter {
  uint64_t seed = 0;
  int64_t epoch = 0;
};

class CachedDataset {
 public:
  CachedDataset() = default;
  // Loads and prepares samples `indices` of the reader (empty: all of them, in split order).
  static CachedDataset build(const DexYCBReader& reader, const CacheOptions& options,
                             const std::vector<int64_t>& indices = {});
  // Reads a saved cache; amt::FormatError(file, field) for a missing field, a wrong dtype or inconsistent
  // shapes.
  static CachedDataset load(const std::string& path);
  // Writes the cache as safetensors (atomically).
  void save(const std::string& path) const;

  int64_t size() const;
  ImageStorage storage() const { return storage_; }
  const TensorMap& fields() const { return fields_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  torch::Tensor image(int64_t i) const;  // [3,H,W] view into `images`
  vision::ImageSize image_size(int64_t i) const;
  std::vector<vision::ImageSize> image_sizes() const;
  // Sample i with its grid for this patch size and shuffle factor (amt::ValueError when out of range, or
  // when the stored size is not a multiple of patch · shuffle).
  // A hand-crop cache cuts the final crop here: the ground-truth box, or with `jitter` the jittered one.
  vision::ImageSample sample(int64_t i, int64_t patch, int64_t shuffle,
                             const std::optional<CropJitter>& jitter = std::nullopt) const;
  // Samples `indices` collated (vision::collate); an empty list gives an empty batch. Images of different
  // sizes are allowed here; vision::model_inputs needs one size (the loader buckets by size, V4).
  vision::Batch batch(const std::vector<int64_t>& indices, int64_t patch, int64_t shuffle,
                      const std::optional<CropJitter>& jitter = std::nullopt) const;

  // The hand-crop spec of a crop cache (from its metadata), nullopt for a resized one.
  std::optional<vision::HandCropSpec> hand_crop() const;
  // Sizes of the images sample() hands out (the final crop for a crop cache).
  std::vector<vision::ImageSize> sample_sizes() const;

  // Bytes held by each field (numel × element size) and their total.
  std::map<std::string, int64_t> memory_bytes() const;
  int64_t total_bytes() const;

 private:
  void check(const std::string& file) const;
  void cut_crop(vision::ImageSample& sample, const vision::HandCropSpec& spec,
                const std::optional<CropJitter>& jitter) const;
  ImageStorage storage_ = ImageStorage::kUInt8;
  TensorMap fields_;  // "images" plus the per-sample fields above
  std::map<std::string, std::string> metadata_;
};

}  // namespace amt::data
