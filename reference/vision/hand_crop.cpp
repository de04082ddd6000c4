#include "reference/vision/hand_crop.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "reference/core/error.hpp"
#include "reference/precision/faults.hpp"

namespace amt::vision {
namespace {

const FaultRegistration kKeepsPrincipalPoint{
    "vision.crop_keeps_principal_point",
    "the classic crop slip: K scaled with the crop as if the whole image had been resized, the principal "
    "point "
    "not moved by the crop's offset, so every projected joint lands off the hand in the crop"};

double crop_scale(const CropBox& box, int64_t out_side) {
  if (out_side < 1 || !(box.side > 0) || !std::isfinite(box.side) || !std::isfinite(box.x0) ||
      !std::isfinite(box.y0)) {
    throw ValueError(
        "hand crop: the box must be finite with a positive side and the crop at least 1 px, got "
        "side " +
        std::to_string(box.side) + " → " + std::to_string(out_side) + " px");
  }
  return static_cast<double>(out_side) / box.side;
}

}  // namespace

void check_hand_crop(const HandCropSpec& s) {
  if (s.size < 1) throw ConfigError("hand crop: size must be >= 1, got " + std::to_string(s.size));
  if (!(s.margin >= 1.0))
    throw ConfigError("hand crop: margin must be >= 1, got " + std::to_string(s.margin));
  if (!(s.min_side > 0)) throw ConfigError("hand crop: min_side must be > 0");
  if (!(s.jitter_shift >= 0 && s.jitter_shift < 0.5))
    throw ConfigError("hand crop: jitter_shift must be in [0, 0.5), got " + std::to_string(s.jitter_shift));
  if (!(s.jitter_scale >= 0 && s.jitter_scale < 1))
    throw ConfigError("hand crop: jitter_scale must be in [0, 1), got " + std::to_string(s.jitter_scale));
}

CropBox hand_box(const torch::Tensor& uv, const torch::Tensor& valid, const HandCropSpec& spec) {
  if (uv.dim() != 2 || uv.size(1) != 2 || valid.dim() != 1 || valid.size(0) != uv.size(0)) {
    throw ShapeError("hand crop: joints must be [N,2] with valid [N], got " + c10::str(uv.sizes()) + " and " +
                     c10::str(valid.sizes()));
  }
  const torch::Tensor pts = uv.to(torch::kFloat64).index({valid.to(torch::kBool)});
  if (pts.size(0) == 0) throw ValueError("hand crop: no valid joint to put a box around");
  const auto lo = std::get<0>(pts.min(0)), hi = std::get<0>(pts.max(0));
  const double x_lo = lo[0].item<double>(), y_lo = lo[1].item<double>();
  const double x_hi = hi[0].item<double>(), y_hi = hi[1].item<double>();
  const double side = std::max(spec.min_side, spec.margin * std::max(x_hi - x_lo, y_hi - y_lo));
  return {0.5 * (x_lo + x_hi) - 0.5 * side, 0.5 * (y_lo + y_hi) - 0.5 * side, side};
}

CropBox jitter_box(const CropBox& box, const HandCropSpec& spec, double u_x, double u_y, double u_s) {
  const double side = box.side * (1.0 + spec.jitter_scale * u_s);
  const double cx = box.centre_x() + spec.jitter_shift * box.side * u_x;
  const double cy = box.centre_y() + spec.jitter_shift * box.side * u_y;
  return {cx - 0.5 * side, cy - 0.5 * side, side};
}

CropBox box_in_crop(const CropBox& box, const CropBox& outer, int64_t outer_side) {
  const double s = crop_scale(outer, outer_side);
  return {(box.x0 - outer.x0) * s - 0.5, (box.y0 - outer.y0) * s - 0.5, box.side * s};
}

Intrinsics crop_intrinsics(const Intrinsics& K, const CropBox& box, int64_t out_side) {
  const double s = crop_scale(box, out_side);
  Intrinsics out;
  out.fx = K.fx * s;
  out.fy = K.fy * s;
  out.skew = K.skew * s;
  if (kKeepsPrincipalPoint.on()) {
    out.cx = (K.cx + 0.5) * s - 0.5;
    out.cy = (K.cy + 0.5) * s - 0.5;
  } else {
    out.cx = (K.cx - box.x0) * s - 0.5;
    out.cy = (K.cy - box.y0) * s - 0.5;
  }
  return out;
}

torch::Tensor crop_intrinsics(const torch::Tensor& K, const CropBox& box, int64_t out_side) {
  if (K.dim() < 2 || K.size(-1) != 3 || K.size(-2) != 3)
    throw ShapeError("crop_intrinsics: K must be [..., 3, 3], got " + c10::str(K.sizes()));
  if (!K.is_floating_point())
    throw DtypeError("crop_intrinsics: K must be floating point, got " +
                     std::string(c10::toString(K.scalar_type())));
  const double s = crop_scale(box, out_side);
  // K' = A·K with A = [[s, 0, tx], [0, s, ty], [0, 0, 1]]: the crop is an affine map of pixels.
  const bool keep = kKeepsPrincipalPoint.on();
  const double tx = keep ? 0.5 * s - 0.5 : -box.x0 * s - 0.5;
  const double ty = keep ? 0.5 * s - 0.5 : -box.y0 * s - 0.5;
  const torch::Tensor A = torch::tensor({s, 0.0, tx, 0.0, s, ty, 0.0, 0.0, 1.0}, K.options()).view({3, 3});
  return torch::matmul(A, K);
}

torch::Tensor crop_pixels(const torch::Tensor& uv, const CropBox& box, int64_t out_side) {
  if (uv.dim() < 1 || uv.size(-1) != 2)
    throw ShapeError("crop_pixels: uv must be [..., 2], got " + c10::str(uv.sizes()));
  const double s = crop_scale(box, out_side);
  const torch::Tensor offset = torch::tensor({box.x0, box.y0}, uv.options());
  return (uv - offset) * s - 0.5;
}

cv::Mat crop_image(const cv::Mat& image, const CropBox& box, int64_t out_side) {
  if (image.empty() || image.depth() != CV_8U)
    throw ShapeError("crop_image: expected a non-empty 8-bit image");
  const double s = crop_scale(box, out_side);
  const int out = static_cast<int>(out_side);
  // One affine warp maps the box onto the output: u' = s·u − (s·x0 + 0.5). A box larger than the output
  // (s < 1) is first warped to ceil(side) pixels (s ≥ 1 there) and then area-averaged down, which keeps the
  // same map (INTER_AREA follows the pixel-centre rule) without bilinear aliasing.
  const int mid = s < 1.0 ? static_cast<int>(std::ceil(box.side)) : out;
  const double sm = static_cast<double>(mid) / box.side;
  const cv::Matx23d M(sm, 0, -sm * box.x0 - 0.5, 0, sm, -sm * box.y0 - 0.5);
  cv::Mat warped;
  cv::warpAffine(image, warped, M, cv::Size(mid, mid), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                 cv::Scalar::all(0));
  if (mid == out) return warped;
  cv::Mat resized;
  cv::resize(warped, resized, cv::Size(out, out), 0, 0, cv::INTER_AREA);
  return resized;
}

}  // namespace amt::vision
