// V1: how camera intrinsics follow an image resize, and how the model turns a pixel into a grid_sample
// coordinate. One convention everywhere (docs/vision.md §2):
//
//   Pixel centres sit at integer coordinates (OpenCV and K convention): pixel (row v, column u) covers
//   [u-0.5, u+0.5] × [v-0.5, v+0.5], and the image of width W spans [-0.5, W-0.5].
//
// A resize from (H, W) to (H', W') maps the continuous coordinate u to u' = (u + 0.5)·sx − 0.5 with sx = W'/W
// (v likewise with sy = H'/H): the image's outer edges map onto each other. Hence
//   fx' = fx·sx,  fy' = fy·sy,  skew' = skew·sx,  cx' = (cx + 0.5)·sx − 0.5,  cy' = (cy + 0.5)·sy − 0.5,
// i.e. K' = A·K with A = [[sx, 0, 0.5·sx − 0.5], [0, sy, 0.5·sy − 0.5], [0, 0, 1]].
//
// grid_sample(align_corners=false) puts x_n = −1 at the left edge of pixel 0 and +1 at the right edge of
// pixel W−1, so a pixel coordinate u of an image of width W (the width of the image that K describes)
// normalises to x_n = (2u + 1)/W − 1. With both rules, a 3-D point has the same normalised coordinate before
// and after any resize, which is why the refinement samples the right feature cell on every grid.
#pragma once
#include <torch/types.h>

#include "reference/vision/image_size.hpp"

namespace amt::vision {

// Pinhole intrinsics (pixels); K = [[fx, skew, cx], [0, fy, cy], [0, 0, 1]].
struct Intrinsics {
  double fx = 0, fy = 0, cx = 0, cy = 0, skew = 0;
};

// The pixel-centre rule for one coordinate: u' = (u + 0.5)·scale − 0.5.
inline double rescale_pixel(double u, double scale) {
  return (u + 0.5) * scale - 0.5;
}

// Intrinsics of the image resized from `from` to `to`. Throws amt::ValueError for non-positive sizes.
Intrinsics rescale_intrinsics(const Intrinsics& K, ImageSize from, ImageSize to);

// The same rule on K tensors [..., 3, 3] of any floating dtype; the result keeps K's dtype and device
// (K' = A·K, computed in K's dtype — K is never stored below fp32, P4). Throws amt::ShapeError for a wrong
// shape, amt::DtypeError for a non-floating K.
torch::Tensor rescale_intrinsics(const torch::Tensor& K, ImageSize from, ImageSize to);

// A 3×3 K tensor of the given floating dtype from Intrinsics.
torch::Tensor intrinsics_matrix(const Intrinsics& K, torch::ScalarType dtype = torch::kFloat64);

// Pixel coordinates uv [..., 2] (u = column, v = row, pixel centres at integers) of an image of `size` to
// grid_sample(align_corners=false) coordinates: x_n = (2u + 1)/W − 1, y_n = (2v + 1)/H − 1. Keeps uv's dtype;
// call it inside the camera-projection island. Throws amt::ShapeError when the last dim is not 2.
torch::Tensor pixel_to_normalized(const torch::Tensor& uv, ImageSize size);
// The inverse: u = ((x_n + 1)·W − 1)/2.
torch::Tensor normalized_to_pixel(const torch::Tensor& xy, ImageSize size);

}  // namespace amt::vision
