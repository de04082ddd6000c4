// DINOv3 axial rotary position embedding (docs/upstream.md O3, VP4; Meta's RopePositionEmbedding with
// normalize_coords="separate", no shift/jitter/rescale, i.e. evaluation).
//
//   y_i = 2(i+½)/h − 1, x_j = 2(j+½)/w − 1            each axis normalised by its own length
//   period_k = θ^(2k/(d/2)), k = 0..d/4−1
//   angles(token i·w+j) = [2π·y/period_0.., 2π·x/period_0..] written twice → [N, d]
//   rope(t) = t·cos + rot(t)·sin, rot(t) = [−t[d/2:], t[:d/2]]       (dimension c pairs with c + d/2)
//
// The tables and the rotation are the kRopeTables island: fp32, or fp64 under the fp64 policy, as upstream's
// fp32 and fp64 runs compute them.
#pragma once
#include <torch/types.h>

#include "reference/precision/policy.hpp"

namespace amt::model {

struct RopeTables {
  torch::Tensor sin;  // [h·w, d], island dtype
  torch::Tensor cos;  // [h·w, d]
};

// Tables for an h×w patch grid and head dim d (d % 4 == 0), in island_dtype(kRopeTables, policy). The
// operations and their order follow Meta's code so that the fp32 tables match upstream's.
RopeTables rope_tables(int64_t h, int64_t w, int64_t head_dim, double base,
                       const precision::PrecisionPolicy& policy);

// Same formula with an explicit dtype (tests compare fp32 against fp64) and device.
RopeTables rope_tables(int64_t h, int64_t w, int64_t head_dim, double base, torch::ScalarType dtype,
                       torch::Device device = torch::kCPU);

// [−t[..., d/2:], t[..., :d/2]]
torch::Tensor rotate_half(const torch::Tensor& t);

// Rotates t [..., N, d] (patch tokens only) in the island dtype; the result is in the activation dtype.
torch::Tensor apply_rope(const torch::Tensor& t, const RopeTables& rope,
                         const precision::PrecisionPolicy& policy);

}  // namespace amt::model
