// V1: DynamicResize — aspect-preserving resize to sides that are multiples of q = patch × shuffle factor,
// for every input size (1×1 up to 8K, any aspect ratio), with and without upscaling (docs/vision.md §1).
//
// The rule (long = max(H, W), short = min(H, W), m = max_side, m % q == 0 required):
//   allow_upscale:  L' = min(m, max(q, ceil(long / q)·q))
//   no upscale:     L' = max(q, floor(min(long, m) / q)·q)
//   both:           S' = max(q, round_half_up(short·L' / long / q)·q)
//   no upscale:     S' = min(S', max(q, floor(short / q)·q))      (no side grows, except up to the minimum q)
// The long side keeps its orientation (H ≥ W ⇒ H' ≥ W'); a square stays square. Both sides are multiples
// of q and |S' − short·L'/long| < q ("aspect kept within one q step").
//
// Resampling is OpenCV on uint8 RGB: INTER_AREA on an axis that shrinks, INTER_CUBIC on an axis that grows
// (an image that shrinks on one axis and grows on the other is resized one axis at a time). Normalisation
// (ImageNet mean/std, to fp32) is a separate step: normalize_image.
#pragma once
#include <torch/types.h>
#include <opencv2/core.hpp>

#include "reference/vision/camera_rescale.hpp"
#include "reference/vision/image_size.hpp"

namespace amt::vision {

// Throws amt::ConfigError unless q ≥ 1, max_side ≥ q and max_side % q == 0; amt::LimitError when max_side
// exceeds the image-side ceiling (reference/core/limits.hpp).
void check_resize_config(int64_t q, int64_t max_side);

// The rule above (one named function, so the fault catalogue can swap it). Throws amt::ConfigError for a bad
// (q, max_side) and amt::ValueError for a non-positive source size.
// Fault "vision.resize_upstream_no_upscale": with allow_upscale = false, returns upstream's formula instead.
// Fault "vision.resize_square": returns (max_side, max_side) whatever the input (upstream AMT's squash).
ImageSize dynamic_resize_target(ImageSize source, int64_t q, int64_t max_side, bool allow_upscale);

// Upstream's DynamicResize (nanoVLM fork `data/custom_transforms.py`), bug for bug, in double precision like
// Python: target_long = min(m, ceil(long/p)·p); if !allow_upscale: target_long = min(target_long, long);
// target_short = max(ceil(short·target_long/long/p)·p, p). Ties treat the width as the long side.
// With allow_upscale = false the long side is not a multiple of p (seed 004, pitfall 5).
ImageSize dynamic_resize_target_upstream(ImageSize source, int64_t p, int64_t m, bool allow_upscale);

// Resamples an 8-bit image (any channel count) to `target` (see the interpolation rule above). Returns a new
// Mat (a clone when the size is unchanged). Throws amt::ShapeError for an empty or non-8-bit image.
cv::Mat resize_image(const cv::Mat& image, ImageSize target);

// The documented image rule: RGB uint8 HWC → [3, H, W] float32, (x/255 − mean[c]) / std[c] with the ImageNet
// mean/std of reference/precision/boundary.hpp, each value correctly rounded from double. Throws
// amt::ShapeError unless the image is CV_8UC3.
torch::Tensor normalize_image(const cv::Mat& rgb);
// RGB uint8 HWC → [3, H, W] uint8 (no normalisation; for uint8 storage, P4).
torch::Tensor image_to_tensor_u8(const cv::Mat& rgb);

struct ResizedImage {
  cv::Mat image;            // RGB uint8, `size`
  ImageSize original_size;  // before the resize
  ImageSize size;           // after the resize
  double scale_y = 1.0;     // H' / H
  double scale_x = 1.0;     // W' / W
  Intrinsics K;             // rescaled to `size`
};

class DynamicResize {
 public:
  DynamicResize(int64_t q, int64_t max_side, bool allow_upscale);  // amt::ConfigError on a bad config
  int64_t q() const { return q_; }
  int64_t max_side() const { return max_side_; }
  bool allow_upscale() const { return allow_upscale_; }

  ImageSize target_size(ImageSize source) const {
    return dynamic_resize_target(source, q_, max_side_, allow_upscale_);
  }
  // Resizes an RGB uint8 image and rescales its intrinsics with it.
  ResizedImage operator()(const cv::Mat& rgb, const Intrinsics& K) const;

 private:
  int64_t q_;
  int64_t max_side_;
  bool allow_upscale_;
};

}  // namespace amt::vision
