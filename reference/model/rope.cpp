#include "reference/model/rope.hpp"

#include <torch/torch.h>

#include <cmath>

#include "reference/core/error.hpp"
#include "reference/precision/islands.hpp"

namespace amt::model {

using precision::Island;

RopeTables rope_tables(int64_t h, int64_t w, int64_t head_dim, double base, torch::ScalarType dtype,
                       torch::Device device) {
  if (h <= 0 || w <= 0) {
    throw ShapeError("RoPE tables need a non-empty patch grid, got " + std::to_string(h) + "x" +
                     std::to_string(w));
  }
  if (head_dim % 4 != 0)
    throw ShapeError("RoPE head_dim " + std::to_string(head_dim) + " is not divisible by 4");
  precision::IslandScope no_autocast;
  const auto opt = torch::TensorOptions().dtype(dtype).device(device);
  const int64_t quarter = head_dim / 4;
  // periods = base ** (2 * arange(d/4) / (d/2)), as Meta computes them (a tensor pow in the table dtype).
  const torch::Tensor periods = torch::pow(base, torch::arange(quarter, opt) * 2 / (head_dim / 2));
  // coords in [-1, 1]: (arange(0.5, n) / n) * 2 - 1 per axis, meshgrid "ij", flattened row-major.
  const torch::Tensor ys = torch::arange(0.5, static_cast<double>(h), opt) / h;
  const torch::Tensor xs = torch::arange(0.5, static_cast<double>(w), opt) / w;
  const auto mesh = torch::meshgrid({ys, xs}, "ij");
  torch::Tensor coords = torch::stack({mesh[0], mesh[1]}, -1).flatten(0, 1);  // [N, 2] columns (y, x)
  coords = coords * 2.0 - 1.0;
  // Meta: 2 * math.pi * coords[:, :, None] / periods — a Python-float product, then a tensor division.
  const torch::Tensor angles = (coords.unsqueeze(-1) * (2.0 * M_PI) / periods.view({1, 1, quarter}))
                                   .flatten(1, 2)  // [N, d/2]: y-angles then x-angles
                                   .tile({2});     // [N, d]
  return {torch::sin(angles), torch::cos(angles)};
}

RopeTables rope_tables(int64_t h, int64_t w, int64_t head_dim, double base,
                       const precision::PrecisionPolicy& policy) {
  return rope_tables(h, w, head_dim, base, precision::island_dtype(Island::kRopeTables, policy),
                     policy.device());
}

torch::Tensor rotate_half(const torch::Tensor& t) {
  const auto halves = t.chunk(2, -1);
  return torch::cat({-halves[1], halves[0]}, -1);
}

torch::Tensor apply_rope(const torch::Tensor& t, const RopeTables& rope,
                         const precision::PrecisionPolicy& policy) {
  // Upstream rotates in the tables' dtype and casts back (dinov3 SelfAttention.apply_rope).
  precision::IslandScope no_autocast;
  const torch::Tensor x = precision::to_island(t, Island::kRopeTables, policy);
  return precision::to_activation(x * rope.cos + rotate_half(x) * rope.sin, policy);
}

}  // namespace amt::model
