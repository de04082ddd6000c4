// Backbone forward (DINOv2 tiny and S/14, random init) at 224×224 and 448×336, batch 1 and 4, per precision
// policy. GFLOP/s is the analytic count of the matmuls and the patch conv (2·MACs), the same for every
// policy; GEMM_GFLOP/s is a GEMM of the blocks' MLP shape ([B·N, D]·[D, 4D]) in the policy's matmul dtype,
// timed in the same process just before; vs_GEMM is their ratio (docs/performance.md targets ≥ 0.70 in fp32,
// ≥ 0.45 in bf16).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <chrono>
#include <string>

#include "bench/gemm_reference.hpp"
#include "bench/registry.hpp"
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

void BM_BackboneForward(benchmark::State& state, const std::string& preset, PolicyKind kind, int64_t batch,
                        int64_t H, int64_t W) {
  const amt::precision::PrecisionPolicy policy(kind);
  const auto cfg = amt::model::preset(preset);
  auto model = amt::model::make_backbone(cfg, 0);
  amt::precision::apply_param_dtype(*model, policy);
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor pixels =
      amt::precision::conform_image(torch::randn({batch, 3, H, W}), policy, "pixel_values");
  const int64_t hp = H / cfg.patch_size, wp = W / cfg.patch_size, tokens = batch * (1 + hp * wp);
  const double gemm = amt::bench::gemm_gflops(tokens, cfg.hidden_size, cfg.intermediate_size,
                                              kind == PolicyKind::kFp32 ? torch::kFloat : torch::kBFloat16);
  model->forward(pixels, policy);  // warm-up: oneDNN primitive creation, allocator
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto out = model->forward(pixels, policy);
    benchmark::DoNotOptimize(out.patch.data_ptr());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double gflops =
      batch * forward_flops(cfg, hp, wp) * static_cast<double>(state.iterations()) / seconds * 1e-9;
  state.counters["GFLOP/s"] = gflops;
  state.counters["GEMM_GFLOP/s"] = gemm;
  state.counters["vs_GEMM"] = gflops / gemm;
  state.counters["threads"] = torch::get_num_threads();
  state.SetItemsProcessed(state.iterations() * batch);
}

}  // namespace

void amt::bench::register_backbone_benchmarks() {
  struct Size {
    int64_t h, w;
  };
  for (const char* preset : {"dinov2-tiny", "dinov2-s14"})
    for (const Size size : {Size{224, 224}, Size{448, 336}})
      for (const int64_t batch : {1, 4})
        for (const auto& [kind, name] :
             {std::pair{PolicyKind::kFp32, "fp32"}, std::pair{PolicyKind::kBf16Autocast, "bf16-autocast"},
              std::pair{PolicyKind::kBf16Pure, "bf16-pure"}}) {
          const std::string label = std::string("BM_BackboneForward/") + preset + "/" +
                                    std::to_string(size.h) + "x" + std::to_string(size.w) + "/b" +
                                    std::to_string(batch) + "/" + name;
          benchmark::RegisterBenchmark(label.c_str(), BM_BackboneForward, preset, kind, batch, size.h, size.w)
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime()
              ->MinTime(1.0);
        }
}
