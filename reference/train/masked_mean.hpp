// The validity-masked reduction every loss builds on (docs/design.md V7, §2: no-hand frames and dummy images
// are masked out of losses). Losses are fp32 islands; this keeps the values' dtype.
#pragma once
#include <torch/types.h>

namespace amt::train {

// Mean of `values` over the entries where `mask` is true; `mask` is bool and broadcasts to `values` (e.g. a
// per-image mask [B, 1, 1] against per-joint errors [B, 21, 3]). A masked-out entry contributes exactly
// nothing — also when it is NaN or Inf (torch::where, not multiplication) — and receives a gradient of
// exactly 0. When no entry is valid the result is an exact 0 (never 0/0 = NaN) with an all-zero gradient.
// Counting is per broadcast element: mean = Σ valid values / number of valid broadcast entries. Throws
// amt::DtypeError for a non-floating `values` or a non-bool `mask`, amt::ShapeError when they do not
// broadcast to values' shape.
// Caveat for loss authors: the zero gradient stops at `values`. If a masked entry's value came from an op
// whose derivative is infinite there (sqrt(0), log(0), division by a zero depth), backprop computes 0·inf =
// NaN upstream; sanitise such inputs first (e.g. where(mask, x, 1) before the sqrt).
torch::Tensor masked_mean(const torch::Tensor& values, const torch::Tensor& mask);

// The two halves, for losses that combine several terms or accumulate across micro-batches:
// Σ of valid values (0 when none), and the number of valid broadcast entries as an int64 scalar tensor.
torch::Tensor masked_sum(const torch::Tensor& values, const torch::Tensor& mask);
torch::Tensor masked_count(const torch::Tensor& values, const torch::Tensor& mask);

}  // namespace amt::train
