// What the compute benchmarks share: the policies they run, the analytic FLOP count of a ViT forward, and the
// yardstick every one reports against — a plain GEMM of the blocks' MLP shape, timed in the same process just
// before it (same build, same threads, same machine load), so "achieved GFLOP/s ÷ GEMM GFLOP/s" means the
// same thing on any machine (docs/performance.md).
#pragma once
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <chrono>

#include "reference/core/runtime.hpp"
#include "reference/model/vit_config.hpp"
#include "reference/precision/policy.hpp"

namespace amt::bench {

using precision::PolicyKind;

// The policies every compute benchmark runs; a case's name ends in PrecisionPolicy(kind).name().
inline constexpr std::array<PolicyKind, 3> kPolicies{PolicyKind::kFp32, PolicyKind::kBf16Autocast,
                                                     PolicyKind::kBf16Pure};

// The dtype the policy's GEMMs run in (autocast runs linear/matmul in bf16).
inline torch::ScalarType gemm_dtype(PolicyKind kind) {
  return kind == PolicyKind::kFp32 ? torch::kFloat : torch::kBFloat16;
}

// 2·MACs of the matmuls and the patch conv of one image's forward on an hp × wp patch grid; the same for
// every policy, so GFLOP/s compares across them.
inline double vit_forward_flops(const model::VitConfig& c, int64_t hp, int64_t wp) {
  const double n = 1.0 + c.num_register_tokens + hp * wp, d = c.hidden_size, f = c.intermediate_size;
  const double per_layer = 2 * n * (4 * d * d)     // q, k, v, o projections
                           + 2 * 2 * n * n * d     // q·kᵀ and p·v
                           + 2 * n * (2 * d * f);  // MLP
  const double patch = 2.0 * hp * wp * d * c.num_channels * c.patch_size * c.patch_size;
  return patch + c.num_layers * per_layer;
}

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

// The MLP-shaped GEMM ([tokens, D]·[D, 4D]) for `images` images of H × W under `kind`.
inline double mlp_gemm_gflops(const model::VitConfig& c, int64_t images, int64_t H, int64_t W,
                              PolicyKind kind) {
  const int64_t tokens = images * (1 + c.num_register_tokens + (H / c.patch_size) * (W / c.patch_size));
  return gemm_gflops(tokens, c.hidden_size, c.intermediate_size, gemm_dtype(kind));
}

// Times the benchmark loop itself: `body` once per iteration.
template <typename Body>
double timed_loop(benchmark::State& state, Body&& body) {
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) body();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The counters every compute benchmark reports: GFLOP/s, the same-run GEMM's, their ratio, the OpenMP threads
// the computation ran with, items/s.
inline void report_against_gemm(benchmark::State& state, double flops_per_iteration, double seconds,
                                double gemm_gflops_measured, int64_t items_per_iteration) {
  const double gflops = flops_per_iteration * static_cast<double>(state.iterations()) / seconds * 1e-9;
  state.counters["GFLOP/s"] = gflops;
  state.counters["GEMM_GFLOP/s"] = gemm_gflops_measured;
  state.counters["vs_GEMM"] = gflops / gemm_gflops_measured;
  state.counters["openmp_threads"] = at::get_num_threads();
  state.SetItemsProcessed(state.iterations() * items_per_iteration);
}

}  // namespace amt::bench
