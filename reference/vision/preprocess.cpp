#include "reference/vision/preprocess.hpp"

#include "reference/core/checked.hpp"
#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"
#include "reference/vision/dynamic_resize.hpp"

namespace amt::vision {

Preprocessed preprocess_image(const cv::Mat& rgb, const Intrinsics& K, int64_t patch, int64_t shuffle,
                              int64_t max_side, bool allow_upscale) {
  if (patch < 1 || shuffle < 1) {
    throw ConfigError("preprocess: patch and shuffle must be >= 1, got patch=" + std::to_string(patch) +
                      " shuffle=" + std::to_string(shuffle));
  }
  const DynamicResize resize(checked_mul(patch, shuffle, "preprocess: q = patch × shuffle"), max_side,
                             allow_upscale);
  if (rgb.empty())
    throw ShapeError("preprocess: empty image (" + std::to_string(rgb.rows) + "x" + std::to_string(rgb.cols) +
                     "): an image needs both sides > 0");
  // The grid (and its token count, against the ceiling) before any pixel is allocated.
  const ImageSize target = resize.target_size({rgb.rows, rgb.cols});
  const ImageGrid grid = make_image_grid(target, patch, shuffle);
  check_tensor_bytes(checked_mul(checked_mul(3 * 4, target.height, "preprocess: pixel bytes"), target.width,
                                 "preprocess: pixel bytes"),
                     "preprocess: pixel_values [3, " + target.str() + "] float32");
  const ResizedImage r = resize(rgb, K);
  Preprocessed p;
  p.pixel_values = normalize_image(r.image);
  p.intrinsics = r.K;
  p.K = intrinsics_matrix(r.K, torch::kFloat32);
  p.grid = grid;
  p.original_size = r.original_size;
  p.scale_y = r.scale_y;
  p.scale_x = r.scale_x;
  return p;
}

ImageSample make_image_sample(const Preprocessed& p, int64_t id, bool has_hand, TensorMap labels) {
  ImageSample s;
  s.id = id;
  s.image = p.pixel_values;
  s.grid = p.grid;
  s.K = p.K;
  s.original_size = p.original_size;
  s.scale_y = p.scale_y;
  s.scale_x = p.scale_x;
  s.has_hand = has_hand;
  s.labels = std::move(labels);
  validate_sample(s);
  return s;
}

}  // namespace amt::vision
