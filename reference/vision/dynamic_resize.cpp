#include "reference/vision/dynamic_resize.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "reference/core/checked.hpp"
#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/faults.hpp"

namespace amt::vision {
namespace {

const FaultRegistration kFaultUpstreamNoUpscale{
    "vision.resize_upstream_no_upscale",
    "seed 004 pitfall 5: upstream DynamicResize(allow_upscale=False) keeps the long side unrounded and ceils "
    "the short side, so sides are not multiples of patch*s (500x375 at q=32 -> 500x384)"};
const FaultRegistration kFaultSquare{"vision.resize_square",
                                     "seed 004 pitfall 5 / upstream AMT: every image is squashed to max_side "
                                     "x max_side, distorting the aspect ratio"};

int64_t floor_to(int64_t x, int64_t q) {
  return (x / q) * q;
}
int64_t ceil_to(int64_t x, int64_t q) {
  return ((x + q - 1) / q) * q;
}

// round(num / den) with halves rounded up, exactly, for num ≥ 0 and den > 0.
int64_t round_half_up_div(int64_t num, int64_t den) {
  return (2 * num + den) / (2 * den);
}

void check_source(ImageSize source) {
  if (source.height < 1 || source.width < 1) {
    throw ValueError("dynamic resize: image size must be positive, got " + source.str());
  }
}

}  // namespace

void check_resize_config(int64_t q, int64_t max_side) {
  if (q < 1) throw ConfigError("dynamic resize: q = patch * shuffle must be >= 1, got " + std::to_string(q));
  if (max_side < q || max_side % q != 0) {
    throw ConfigError("dynamic resize: max_side " + std::to_string(max_side) +
                      " must be a positive multiple of q = " + std::to_string(q) + " (patch * shuffle)");
  }
  // The target is at most max_side × max_side: the ceiling bounds what one image may allocate.
  if (max_side > limits().max_image_side) {
    throw LimitError("dynamic resize: max_side " + std::to_string(max_side) +
                     " exceeds the image-side ceiling " + std::to_string(limits().max_image_side) +
                     " (AMT_MAX_IMAGE_SIDE)");
  }
}

ImageSize dynamic_resize_target(ImageSize source, int64_t q, int64_t max_side, bool allow_upscale) {
  check_resize_config(q, max_side);
  check_source(source);
  if (kFaultSquare.on()) return {max_side, max_side};
  if (!allow_upscale && kFaultUpstreamNoUpscale.on()) {
    return dynamic_resize_target_upstream(source, q, max_side, false);
  }
  const bool portrait = source.height > source.width;
  const int64_t long_side = portrait ? source.height : source.width;
  const int64_t short_side = portrait ? source.width : source.height;

  int64_t new_long = allow_upscale ? std::min(max_side, std::max(q, ceil_to(long_side, q)))
                                   : std::max(q, floor_to(std::min(long_side, max_side), q));
  // short·L'/long/q rounded half up, in exact integer arithmetic (sides stay far below 2^31).
  int64_t new_short = std::max(
      q,
      q * round_half_up_div(checked_mul(short_side, new_long, "dynamic resize: short side × new long side"),
                            checked_mul(long_side, q, "dynamic resize: long side × q")));
  if (!allow_upscale) new_short = std::min(new_short, std::max(q, floor_to(short_side, q)));
  return portrait ? ImageSize{new_long, new_short} : ImageSize{new_short, new_long};
}

ImageSize dynamic_resize_target_upstream(ImageSize source, int64_t p, int64_t m, bool allow_upscale) {
  check_source(source);
  const double h = static_cast<double>(source.height), w = static_cast<double>(source.width);
  const double pd = static_cast<double>(p), md = static_cast<double>(m);
  const bool width_long = w >= h;  // upstream: `long, short = (w, h) if w >= h else (h, w)`
  const double long_side = width_long ? w : h;
  const double short_side = width_long ? h : w;
  double target_long = std::min(md, std::ceil(long_side / pd) * pd);
  if (!allow_upscale) target_long = std::min(target_long, long_side);
  const double scale = target_long / long_side;
  const double target_short = std::max(std::ceil(short_side * scale / pd) * pd, pd);
  const auto L = static_cast<int64_t>(target_long), S = static_cast<int64_t>(target_short);
  return width_long ? ImageSize{S, L} : ImageSize{L, S};
}

cv::Mat resize_image(const cv::Mat& image, ImageSize target) {
  if (image.empty() || image.depth() != CV_8U) {
    throw ShapeError("resize_image: expected a non-empty 8-bit image, got " + std::to_string(image.rows) +
                     "x" + std::to_string(image.cols) + " depth " + std::to_string(image.depth()));
  }
  if (target.height < 1 || target.width < 1)
    throw ValueError("resize_image: bad target size " + target.str());
  const int th = static_cast<int>(target.height), tw = static_cast<int>(target.width);
  const bool grows = th > image.rows || tw > image.cols;
  const bool shrinks = th < image.rows || tw < image.cols;
  cv::Mat out;
  if (!grows && !shrinks) {
    out = image.clone();
  } else if (!grows) {
    cv::resize(image, out, cv::Size(tw, th), 0, 0, cv::INTER_AREA);
  } else if (!shrinks) {
    cv::resize(image, out, cv::Size(tw, th), 0, 0, cv::INTER_CUBIC);
  } else {
    // One axis shrinks, the other grows: INTER_AREA on the shrinking axis first (fewer pixels to enlarge),
    // then INTER_CUBIC on the growing one, so neither axis aliases or blurs.
    cv::Mat tmp;
    const bool h_shrinks = th < image.rows;
    cv::resize(image, tmp, h_shrinks ? cv::Size(image.cols, th) : cv::Size(tw, image.rows), 0, 0,
               cv::INTER_AREA);
    cv::resize(tmp, out, cv::Size(tw, th), 0, 0, cv::INTER_CUBIC);
  }
  return out;
}

torch::Tensor normalize_image(const cv::Mat& rgb) {
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    throw ShapeError("normalize_image: expected an RGB uint8 image (CV_8UC3), got type " +
                     std::to_string(rgb.type()) + " size " + std::to_string(rgb.rows) + "x" +
                     std::to_string(rgb.cols));
  }
  // One 256-entry table per channel: exact (correctly rounded from double) and the fastest form of the rule.
  std::array<std::array<float, 256>, 3> lut;
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      lut[c][v] = static_cast<float>((v / 255.0 - precision::kImageNetMean[c]) / precision::kImageNetStd[c]);
    }
  }
  const int64_t h = rgb.rows, w = rgb.cols;
  torch::Tensor out = torch::empty({3, h, w}, torch::kFloat32);
  float* r = out.data_ptr<float>();
  float* g = r + h * w;
  float* b = g + h * w;
  for (int64_t y = 0; y < h; ++y) {
    const uint8_t* src = rgb.ptr<uint8_t>(static_cast<int>(y));
    const int64_t row = y * w;
    for (int64_t x = 0; x < w; ++x) {
      r[row + x] = lut[0][src[3 * x]];
      g[row + x] = lut[1][src[3 * x + 1]];
      b[row + x] = lut[2][src[3 * x + 2]];
    }
  }
  return out;
}

torch::Tensor image_to_tensor_u8(const cv::Mat& rgb) {
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    throw ShapeError("image_to_tensor_u8: expected an RGB uint8 image (CV_8UC3), got type " +
                     std::to_string(rgb.type()));
  }
  const cv::Mat contiguous = rgb.isContinuous() ? rgb : rgb.clone();
  // clone(), not contiguous(): for 1-pixel-wide images the permuted view is already "contiguous" and would
  // alias the Mat's buffer.
  return torch::from_blob(contiguous.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8)
      .permute({2, 0, 1})
      .clone(at::MemoryFormat::Contiguous);
}

DynamicResize::DynamicResize(int64_t q, int64_t max_side, bool allow_upscale)
    : q_(q), max_side_(max_side), allow_upscale_(allow_upscale) {
  check_resize_config(q, max_side);
}

ResizedImage DynamicResize::operator()(const cv::Mat& rgb, const Intrinsics& K) const {
  if (rgb.empty()) throw ShapeError("DynamicResize: empty image");
  ResizedImage out;
  out.original_size = {rgb.rows, rgb.cols};
  out.size = target_size(out.original_size);
  out.image = resize_image(rgb, out.size);
  out.scale_y = static_cast<double>(out.size.height) / static_cast<double>(out.original_size.height);
  out.scale_x = static_cast<double>(out.size.width) / static_cast<double>(out.original_size.width);
  out.K = rescale_intrinsics(K, out.original_size, out.size);
  return out;
}

}  // namespace amt::vision
