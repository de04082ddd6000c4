// V3: 2-D pixel shuffle on a rectangular patch grid (Hp, Wp) with factor s, and its exact inverse.
//
//   out[b, i·Gw + j, (dy·s + dx)·C + c] = in[b, (i·s + dy)·Wp + (j·s + dx), c]
//   Gh = Hp/s, Gw = Wp/s, 0 ≤ dy, dx < s; channel order (dy, dx, c): row offset slowest, channel fastest.
//
// This is upstream's closed form (nanoVLM/Idefics3), but the grid is always passed explicitly: the sequence
// length alone cannot tell a 4×6 grid from a 6×4 one, and inferring a square (upstream's fallback) fails on
// every rectangular image (seed 004, pitfall 1). Tokens are patch tokens only (no CLS/register prefix).
#pragma once
#include <torch/types.h>

namespace amt::vision {

// x [B, Hp·Wp, C] → [B, Gh·Gw, C·s²]. Throws amt::ShapeError when x is not 3-D, when its length is not Hp·Wp,
// or when Hp or Wp is not divisible by s (the message names both numbers); amt::ConfigError for s < 1.
// Fault "vision.shuffle_square_only": ignores (Hp, Wp) and calls pixel_shuffle_square_upstream.
torch::Tensor pixel_shuffle_2d(const torch::Tensor& x, int64_t hp, int64_t wp, int64_t shuffle);

// The inverse: y [B, Gh·Gw, C·s²] on the patch grid (Hp, Wp) → [B, Hp·Wp, C]. Same errors, plus a channel
// count not divisible by s².
torch::Tensor pixel_unshuffle_2d(const torch::Tensor& y, int64_t hp, int64_t wp, int64_t shuffle);

// Upstream nanoVLM's square-only shuffle (modality_projector.py `pixel_shuffle`): r = sqrt(N) must be an
// integer and divisible by s; otherwise it fails (upstream: a bare assert; here amt::ShapeError).
torch::Tensor pixel_shuffle_square_upstream(const torch::Tensor& x, int64_t shuffle);

}  // namespace amt::vision
