// Backbone forward time: DINOv2-S/14 (random init) on one 448×336 image (32×24 = 768 patches) per precision
// policy. The FLOP counter is the analytic count of the matmuls/conv (2·MACs), so GFLOP/s is comparable
// across policies.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "reference/model/backbone.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/policy.hpp"

namespace {

using amt::precision::PolicyKind;

double forward_flops(const amt::model::VitConfig& c, int64_t hp, int64_t wp) {
  const double n = 1.0 + c.num_register_tokens + hp * wp, d = c.hidden_size, f = c.intermediate_size;
  const double per_layer = 2 * n * (4 * d * d)     // q, k, v, o projections
                           + 2 * 2 * n * n * d     // q·kᵀ and p·v
                           + 2 * n * (2 * d * f);  // MLP
  const double patch = 2.0 * hp * wp * d * c.num_channels * c.patch_size * c.patch_size;
  return patch + c.num_layers * per_layer;
}

void BM_BackboneForward(benchmark::State& state, const char* preset, PolicyKind kind, int64_t H, int64_t W) {
  const amt::precision::PrecisionPolicy policy(kind);
  const auto cfg = amt::model::preset(preset);
  auto model = amt::model::make_backbone(cfg, 0);
  amt::precision::apply_param_dtype(*model, policy);
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor pixels =
      amt::precision::conform_image(torch::randn({1, 3, H, W}), policy, "pixel_values");
  model->forward(pixels, policy);  // warm-up: oneDNN primitive creation, allocator
  for (auto _ : state) {
    auto out = model->forward(pixels, policy);
    benchmark::DoNotOptimize(out.patch.data_ptr());
  }
  const double flops = forward_flops(cfg, H / cfg.patch_size, W / cfg.patch_size);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = torch::get_num_threads();
}

BENCHMARK_CAPTURE(BM_BackboneForward, dinov2_s14_448x336_fp32, "dinov2-s14", PolicyKind::kFp32, 448, 336)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);
BENCHMARK_CAPTURE(BM_BackboneForward, dinov2_s14_448x336_bf16_autocast, "dinov2-s14",
                  PolicyKind::kBf16Autocast, 448, 336)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);
BENCHMARK_CAPTURE(BM_BackboneForward, dinov2_s14_448x336_bf16_pure, "dinov2-s14", PolicyKind::kBf16Pure, 448,
                  336)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);

}  // namespace
