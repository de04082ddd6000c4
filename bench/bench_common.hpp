// The yardstick every compute benchmark reports against: a plain GEMM of a shape like its dominant matmul,
// timed in the same process just before it (same build, same threads, same machine load), so "achieved
// GFLOP/s ÷ GEMM GFLOP/s" means the same thing on any machine (docs/performance.md).
#pragma once
#include <torch/torch.h>

#include <chrono>

namespace amt::bench {

// Best-of-runs GFLOP/s of [m,k]·[k,n] in `dtype` (at least `min_seconds` of runs after one warm-up).
inline double gemm_gflops(int64_t m, int64_t k, int64_t n, torch::ScalarType dtype,
                          double min_seconds = 0.5) {
  torch::NoGradGuard no_grad;
  const torch::Tensor a = torch::randn({m, k}).to(dtype), b = torch::randn({k, n}).to(dtype);
  torch::Tensor c = torch::mm(a, b);
  double best = 1e30, total = 0.0;
  while (total < min_seconds) {
    const auto t0 = std::chrono::steady_clock::now();
    torch::mm_out(c, a, b);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
    total += s;
  }
  return 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n) / best * 1e-9;
}

}  // namespace amt::bench
