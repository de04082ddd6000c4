#include "reference/vision/camera_rescale.hpp"

#include "reference/core/error.hpp"

namespace amt::vision {
namespace {

void check_sizes(ImageSize from, ImageSize to) {
  if (from.height < 1 || from.width < 1 || to.height < 1 || to.width < 1) {
    throw ValueError("rescale_intrinsics: image sizes must be positive, got " + from.str() + " -> " +
                     to.str());
  }
}

}  // namespace

Intrinsics rescale_intrinsics(const Intrinsics& K, ImageSize from, ImageSize to) {
  check_sizes(from, to);
  const double sx = static_cast<double>(to.width) / static_cast<double>(from.width);
  const double sy = static_cast<double>(to.height) / static_cast<double>(from.height);
  Intrinsics out;
  out.fx = K.fx * sx;
  out.fy = K.fy * sy;
  out.skew = K.skew * sx;
  out.cx = rescale_pixel(K.cx, sx);
  out.cy = rescale_pixel(K.cy, sy);
  return out;
}

torch::Tensor rescale_intrinsics(const torch::Tensor& K, ImageSize from, ImageSize to) {
  check_sizes(from, to);
  if (K.dim() < 2 || K.size(-1) != 3 || K.size(-2) != 3) {
    throw ShapeError("rescale_intrinsics: K must be [..., 3, 3], got " + c10::str(K.sizes()));
  }
  if (!K.is_floating_point()) {
    throw DtypeError("rescale_intrinsics: K must be floating point, got " +
                     std::string(c10::toString(K.scalar_type())));
  }
  const double sx = static_cast<double>(to.width) / static_cast<double>(from.width);
  const double sy = static_cast<double>(to.height) / static_cast<double>(from.height);
  // A is built directly in K's dtype (no cast of K): A·K applies the pixel-centre rule to every column.
  const torch::Tensor A = torch::tensor({sx, 0.0, 0.5 * sx - 0.5, 0.0, sy, 0.5 * sy - 0.5, 0.0, 0.0, 1.0},
                                        torch::TensorOptions().dtype(K.scalar_type()).device(K.device()))
                              .view({3, 3});
  return torch::matmul(A, K);
}

torch::Tensor intrinsics_matrix(const Intrinsics& K, torch::ScalarType dtype) {
  if (!c10::isFloatingType(dtype)) {
    throw DtypeError("intrinsics_matrix: dtype must be floating point, got " +
                     std::string(c10::toString(dtype)));
  }
  return torch::tensor({K.fx, K.skew, K.cx, 0.0, K.fy, K.cy, 0.0, 0.0, 1.0},
                       torch::TensorOptions().dtype(dtype))
      .view({3, 3});
}

torch::Tensor pixel_to_normalized(const torch::Tensor& uv, ImageSize size) {
  if (uv.dim() < 1 || uv.size(-1) != 2) {
    throw ShapeError("pixel_to_normalized: uv must be [..., 2], got " + c10::str(uv.sizes()));
  }
  if (size.height < 1 || size.width < 1)
    throw ValueError("pixel_to_normalized: bad image size " + size.str());
  const torch::Tensor u = uv.select(-1, 0);
  const torch::Tensor v = uv.select(-1, 1);
  const double w = static_cast<double>(size.width);
  const double h = static_cast<double>(size.height);
  return torch::stack({(2.0 * u + 1.0) / w - 1.0, (2.0 * v + 1.0) / h - 1.0}, -1);
}

torch::Tensor normalized_to_pixel(const torch::Tensor& xy, ImageSize size) {
  if (xy.dim() < 1 || xy.size(-1) != 2) {
    throw ShapeError("normalized_to_pixel: xy must be [..., 2], got " + c10::str(xy.sizes()));
  }
  if (size.height < 1 || size.width < 1)
    throw ValueError("normalized_to_pixel: bad image size " + size.str());
  const torch::Tensor x = xy.select(-1, 0);
  const torch::Tensor y = xy.select(-1, 1);
  const double w = static_cast<double>(size.width);
  const double h = static_cast<double>(size.height);
  return torch::stack({((x + 1.0) * w - 1.0) / 2.0, ((y + 1.0) * h - 1.0) / 2.0}, -1);
}

}  // namespace amt::vision
