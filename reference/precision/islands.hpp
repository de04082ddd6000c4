// P2, fp32 islands: the exact list of computations that run in fp32 (fp64 under the fp64 policy) whatever the
// policy, each one a named function. Autocast is off inside every island. Model code calls these instead of
// casting; nothing else below the boundary changes a dtype.
#pragma once
#include <torch/types.h>

#include <string>

#include "reference/precision/autocast_guard.hpp"
#include "reference/precision/policy.hpp"

namespace amt::precision {

enum class Island {
  kPositionInterpolation,  // DINOv2 position-table resampling: always fp32 (upstream does so even in fp64)
  kRopeTables,             // DINOv3 RoPE sin/cos tables
  kCameraProjection,       // K·(E·X), division by depth, grid normalisation
  kGridSample,             // bilinear sampling of the feature map (no bf16/fp16 CPU kernel)
  kLayerNorm,              // LayerNorm whose input is lower precision than its parameters
  kLoss,                   // every loss term
  kMetric,                 // metrics (accumulated in fp64 always)
  kOptimizer,              // optimizer state and master weights
};

// The dtype an island computes in under `policy`.
torch::ScalarType island_dtype(Island island, const PrecisionPolicy& policy);
// Casts `x` into the island's dtype (no-op when already there).
torch::Tensor to_island(const torch::Tensor& x, Island island, const PrecisionPolicy& policy);
// Casts an island's result back to the policy's activation dtype (features re-entering the network).
torch::Tensor to_activation(const torch::Tensor& x, const PrecisionPolicy& policy);
// Casts a geometric result to the policy's output dtype (P5).
torch::Tensor to_output(const torch::Tensor& x, const PrecisionPolicy& policy);

// --- the islands themselves -------------------------------------------------------------------------------
// Bicubic (align_corners=false, no antialias) resampling of a [1,C,M,M] position table to (out_h, out_w),
// either to an explicit size (`scale_h`, `scale_w` ≤ 0) or with scale factors (DINOv2 "meta" mode). Computes
// in fp32 always; returns fp32.
torch::Tensor interpolate_position_table(const torch::Tensor& table, int64_t out_h, int64_t out_w,
                                         double scale_h = 0.0, double scale_w = 0.0);

// residual + gain·branch (a block's LayerScale and residual add) in the dtype type promotion gives (fp32
// under autocast, where the residual stream is fp32 and the branch bf16). The branch is widened first,
// exactly: addcmul over mixed dtypes takes an unvectorised path, 17× slower than the cast plus a same-dtype
// addcmul on LibTorch 1.13 (1.48 vs 0.09 ms on [769, 384]) and still 5.4× on 2.13 (0.49 vs 0.09 ms).
torch::Tensor add_scaled_residual(const torch::Tensor& residual, const torch::Tensor& branch,
                                  const torch::Tensor& gain);

// LayerNorm over the last dim, computed in the island dtype; the result has the input's dtype.
torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                         double eps, const PrecisionPolicy& policy);

// Projects camera-frame points [B,N,3] with K [B,3,3] (and optional world→camera E [B,4,4] applied first)
// to pixels [B,N,2] and depth [B,N]; in the island dtype. Depth is clamped away from 0 for the division.
//
// Points at or behind the camera (depth <= 0, depth == 0 exactly included): uv = (K p)_xy /
// kMinProjectionDepth, finite for finite input (never Inf or NaN, so nothing non-finite reaches a loss or a
// gradient) but meaningless: usually far outside the image (K p's x and y over 1e-6), not always (the camera
// centre itself maps to (0, 0)), and never the sign-flipped pixel a point behind the camera would otherwise
// take. `depth` is returned unclamped so callers can mask: the refinement samples zeros at depth <= min_depth
// (docs/deviations.md row 3), the 2-D metric clamps at 0.1 m.
constexpr double kMinProjectionDepth = 1e-6;
struct Projection {
  torch::Tensor uv;     // [B,N,2] pixels
  torch::Tensor depth;  // [B,N] camera z (before clamping)
};
Projection project_points(const torch::Tensor& points, const torch::Tensor& K, const torch::Tensor& E,
                          const PrecisionPolicy& policy);

// Hand-crop input (vision/hand_crop.hpp): the crop is centred on the hand and its side spans about `box_m`
// metres there, so the hand's root sits near the ray through the crop's centre at depth
// z = sqrt(fx·fy)·box_m / sqrt(H·W) (the pinhole size-depth relation). Returns that point minus
// (0, 0, anchor_depth), [B,3], in the output dtype — the offset that moves the heads' camera-axis anchors
// onto the crop's ray. Computed from K [B,3,3] in the island dtype.
torch::Tensor crop_ray_offset(const torch::Tensor& K, int64_t height, int64_t width, double box_m,
                              double anchor_depth, const PrecisionPolicy& policy);

// grid_sample(bilinear, zeros padding, align_corners=false) of features [B,C,H,W] at normalised grid
// [B,N,1,2], computed in the island dtype; the result is cast back to the features' dtype.
torch::Tensor grid_sample(const torch::Tensor& features, const torch::Tensor& grid,
                          const PrecisionPolicy& policy);

// Autocast is off inside every island (used by the functions above and by loss/metric code).
using IslandScope = AutocastDisabled;

}  // namespace amt::precision
