// The hand crop (docs/vision.md §9): a square window around the hand, resampled to a fixed side, with the
// camera intrinsics moved and scaled with it — what every DexYCB hand-pose method trains and evaluates on.
//
// Coordinates follow the pixel-centre rule of camera_rescale.hpp: pixel centres at integers, an image of
// width W spans [−0.5, W − 0.5]. A CropBox is a square in those continuous coordinates: its left edge x0, its
// top edge y0, its side. Resampling the box to an image of `out` × `out` maps
//   u' = (u − x0)·σ − 0.5,  v' = (v − y0)·σ − 0.5,  σ = out / side,
// so the box's edges land on the crop's edges, and K follows as
//   fx' = σ·fx, fy' = σ·fy, skew' = σ·skew, cx' = σ·(cx − x0) − 0.5, cy' = σ·(cy − y0) − 0.5.
// Projecting a 3-D point with the cropped K gives exactly the cropped pixel of its projection with K
// (property rect_grids.hand_crop).
//
// The box: the bounding box of the valid 2-D joints, squared around its centre, side = margin × its longer
// side (at least min_side). Training jitters it: the centre moves by up to shift × side on each axis and the
// side scales by up to 1 ± scale. Evaluation uses the box itself (the ground-truth box, as the benchmarks
// do).
#pragma once
#include <torch/types.h>
#include <opencv2/core.hpp>

#include <cstdint>

#include "reference/vision/camera_rescale.hpp"

namespace amt::vision {

struct CropBox {
  double x0 = 0, y0 = 0, side = 1;  // left and top edge, side (continuous pixel coordinates)
  double centre_x() const { return x0 + 0.5 * side; }
  double centre_y() const { return y0 + 0.5 * side; }
};

struct HandCropSpec {
  int64_t size = 112;          // the crop's side in pixels (a multiple of patch × shuffle)
  double margin = 1.5;         // box side / the joints' longer extent
  double min_side = 16;        // pixels of the source image: a box never collapses onto a point
  double jitter_shift = 0.1;   // training: centre moves by up to this × side on each axis
  double jitter_scale = 0.15;  // training: side scales by a factor in [1 − s, 1 + s]
};
// amt::ConfigError naming the field unless size ≥ 1, margin ≥ 1, min_side > 0, 0 ≤ shift < 0.5, 0 ≤ scale
// < 1.
void check_hand_crop(const HandCropSpec& spec);

// The box around joints uv [21,2] (pixels) whose `valid` [21] (bool) is true. amt::ValueError when no joint
// is valid; amt::ShapeError for wrong shapes.
CropBox hand_box(const torch::Tensor& uv, const torch::Tensor& valid, const HandCropSpec& spec);
// The box jittered by draws u_x, u_y, u_s in [−1, 1] (the caller owns the random numbers, so a run is
// reproducible and a resume draws the same crops).
CropBox jitter_box(const CropBox& box, const HandCropSpec& spec, double u_x, double u_y, double u_s);

// A box in the coordinates of the crop `outer` (resampled to `outer_side`) as a box of the source image, and
// back: crops of crops compose.
CropBox box_in_crop(const CropBox& box, const CropBox& outer, int64_t outer_side);

// K of the crop (the rule above). Fault "vision.crop_keeps_principal_point": the classic slip, K scaled as if
// the whole image had been resized (cx' = σ·(cx + 0.5) − 0.5), the principal point not moved by the offset.
Intrinsics crop_intrinsics(const Intrinsics& K, const CropBox& box, int64_t out_side);
// The same on K tensors [..., 3, 3] (computed in K's dtype, which is kept).
torch::Tensor crop_intrinsics(const torch::Tensor& K, const CropBox& box, int64_t out_side);
// Pixels uv [..., 2] of the source image to pixels of the crop (in uv's dtype).
torch::Tensor crop_pixels(const torch::Tensor& uv, const CropBox& box, int64_t out_side);

// The crop of an 8-bit image: bilinear where the box is at least as large as the output, area-averaged
// (antialiased) where it is smaller; outside the source image, black. amt::ShapeError for an empty or
// non-8-bit image.
cv::Mat crop_image(const cv::Mat& image, const CropBox& box, int64_t out_side);

}  // namespace amt::vision
