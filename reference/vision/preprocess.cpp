#include "reference/vision/preprocess.hpp"

#include "reference/core/error.hpp"
#include "reference/vision/dynamic_resize.hpp"

namespace amt::vision {

Preprocessed preprocess_image(const cv::Mat& rgb, const Intrinsics& K, int64_t patch, int64_t shuffle,
                              int64_t max_side, bool allow_upscale) {
  if (patch < 1 || shuffle < 1) {
    throw ConfigError("preprocess: patch and shuffle must be >= 1, got patch=" + std::to_string(patch) +
                      " shuffle=" + std::to_string(shuffle));
  }
  const DynamicResize resize(patch * shuffle, max_side, allow_upscale);
  const ResizedImage r = resize(rgb, K);
  Preprocessed p;
  p.pixel_values = normalize_image(r.image);
  p.intrinsics = r.K;
  p.K = intrinsics_matrix(r.K, torch::kFloat32);
  p.grid = make_image_grid(r.size, patch, shuffle);
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
