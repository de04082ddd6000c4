// V4 and V5: batching images of different sizes.
//
// V4 (batch invariance): an image's features never depend on the other images in its batch. The backbone runs
// once per bucket of equal (H, W) — no padding, so no padded pixel can leak into attention or position
// encodings — and the results are scattered back to the original order.
// V5 (token concatenation): per-image tokens are concatenated in (sample, image) order with no padding rows;
// the row count equals Σ Gh·Gw and is checked.
#pragma once
#include <torch/types.h>

#include <functional>
#include <vector>

#include "reference/vision/image_grid.hpp"
#include "reference/vision/image_size.hpp"

namespace amt::vision {

struct Bucket {
  ImageSize size;
  std::vector<int64_t> indices;  // positions in the input list, ascending
};

// Groups indices by equal size; buckets come in order of first appearance.
std::vector<Bucket> bucket_by_size(const std::vector<ImageSize>& sizes);
// (H, W) of each [C, H, W] image; amt::ShapeError for any other rank.
std::vector<ImageSize> image_sizes(const std::vector<torch::Tensor>& images);

// A backbone callable: images [n, C, H, W] (one size) → patch tokens [n, (H/patch)·(W/patch), D].
using BatchedEncoder = std::function<torch::Tensor(const torch::Tensor& images)>;

// Runs `encoder` once per bucket and returns each image's tokens [Hp·Wp, D] in input order. Throws
// amt::ShapeError when an image is not [C, H, W] with H, W multiples of `patch`, when channel counts differ,
// or when the encoder returns the wrong shape (naming the bucket size and the numbers).
// Fault "vision.batch_pad_without_mask": runs encode_padded_upstream instead.
std::vector<torch::Tensor> encode_bucketed(const std::vector<torch::Tensor>& images,
                                           const BatchedEncoder& encoder, int64_t patch);

// Upstream (nanoVLM DINOv3 fork): pads every image right/bottom with zeros to the batch's largest (H, W),
// runs the encoder once without a key mask, and keeps each image's first Hp·Wp tokens (seed 004, pitfall 2).
// Real tokens attend to padding and the kept tokens are the wrong ones whenever Wp < Wp_max.
std::vector<torch::Tensor> encode_padded_upstream(const std::vector<torch::Tensor>& images,
                                                  const BatchedEncoder& encoder, int64_t patch);

// Concatenates per-image tokens ([Gh·Gw, D] or [1, Gh·Gw, D]) in the given order into [Σ Gh·Gw, D]. Throws
// amt::ShapeError naming the image when its row count is not its grid's Gh·Gw, when D differs, or when the
// lists differ in length. Fault "vision.concat_pad_tokens": runs concat_tokens_padded_upstream instead.
torch::Tensor concat_image_tokens(const std::vector<torch::Tensor>& tokens,
                                  const std::vector<ImageGrid>& grids);

// The inverse of concat_image_tokens: splits [Σ Gh·Gw, D] back into per-image [Gh·Gw, D] views.
std::vector<torch::Tensor> split_image_tokens(const torch::Tensor& concatenated,
                                              const std::vector<ImageGrid>& grids);

// Upstream: zero-pads every image's tokens to the longest and concatenates, so padding rows sit between
// images and every image after a shorter one is shifted (seed 004, pitfall 2). Returns [n·max_rows, D].
torch::Tensor concat_tokens_padded_upstream(const std::vector<torch::Tensor>& tokens);

}  // namespace amt::vision
