// The whole per-image pipeline in one call, as the dataset and `amt_conformance resize` use it:
// RGB uint8 → DynamicResize (q = patch·s) → K rescaled → grid from the resized image → ImageNet-normalised
// fp32.
#pragma once
#include <torch/types.h>
#include <opencv2/core.hpp>

#include "reference/vision/camera_rescale.hpp"
#include "reference/vision/collator.hpp"
#include "reference/vision/image_grid.hpp"

namespace amt::vision {

struct Preprocessed {
  torch::Tensor pixel_values;  // [3, H', W'] float32, normalised
  torch::Tensor K;             // [3, 3] float32, rescaled to (H', W')
  Intrinsics intrinsics;       // the same K in double precision
  ImageGrid grid;
  ImageSize original_size;
  double scale_y = 1.0, scale_x = 1.0;
};

// amt::ConfigError for a bad (patch, shuffle, max_side); amt::ShapeError for an image that is not RGB uint8.
Preprocessed preprocess_image(const cv::Mat& rgb, const Intrinsics& K, int64_t patch, int64_t shuffle,
                              int64_t max_side, bool allow_upscale);

// Packs a preprocessed image and its labels into the sample the collator moves around.
ImageSample make_image_sample(const Preprocessed& p, int64_t id, bool has_hand, TensorMap labels = {});

}  // namespace amt::vision
