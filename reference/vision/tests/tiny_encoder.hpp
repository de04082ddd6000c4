// Test helper: a minimal ViT-like encoder (patch embedding, positions normalised per axis by the grid of the
// tensor it is given — like DINOv3's RoPE — and one unmasked self-attention layer). Enough to show that
// padding without a mask changes an image's features while bucketing does not. float64 so that comparisons
// can be tight.
#pragma once
#include <torch/torch.h>

#include <cmath>

namespace amt::vision::testing {

struct TinyEncoder {
  int64_t patch, dim;
  torch::Tensor w_patch, wq, wk, wv;

  TinyEncoder(int64_t patch_, int64_t dim_, uint64_t seed) : patch(patch_), dim(dim_) {
    torch::Generator gen = at::detail::createCPUGenerator(seed);
    const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    w_patch = torch::randn({dim, 3, patch, patch}, gen, opts) / std::sqrt(3.0 * patch * patch);
    wq = torch::randn({dim, dim}, gen, opts) / std::sqrt(double(dim));
    wk = torch::randn({dim, dim}, gen, opts) / std::sqrt(double(dim));
    wv = torch::randn({dim, dim}, gen, opts) / std::sqrt(double(dim));
  }

  // images [n, 3, H, W] float64 → tokens [n, (H/patch)·(W/patch), dim]
  torch::Tensor operator()(const torch::Tensor& images) const {
    const int64_t hp = images.size(2) / patch, wp = images.size(3) / patch;
    torch::Tensor x = torch::conv2d(images, w_patch, {}, patch).flatten(2).transpose(1, 2);  // [n, hp*wp, D]
    const torch::Tensor y = (torch::arange(hp, x.options()) + 0.5) / double(hp);
    const torch::Tensor xx = (torch::arange(wp, x.options()) + 0.5) / double(wp);
    const torch::Tensor yy = y.view({hp, 1}).expand({hp, wp}).reshape({hp * wp, 1});
    const torch::Tensor xw = xx.view({1, wp}).expand({hp, wp}).reshape({hp * wp, 1});
    const torch::Tensor freq = torch::arange(1, dim + 1, x.options()).view({1, dim});
    const torch::Tensor even = (torch::arange(dim) % 2 == 0).view({1, dim});
    x = x + torch::where(even, torch::sin(3.0 * freq * yy), torch::cos(3.0 * freq * xw));
    const torch::Tensor q = torch::matmul(x, wq), k = torch::matmul(x, wk), v = torch::matmul(x, wv);
    const torch::Tensor attn =
        torch::softmax(torch::matmul(q, k.transpose(1, 2)) / std::sqrt(double(dim)), -1);
    return x + torch::matmul(attn, v);
  }
};

}  // namespace amt::vision::testing
