// Backbone forward (DINOv2 tiny and S/14, random init) at 224×224 and 448×336, batch 1 and 4, per precision
// policy. GFLOP/s is the analytic count of the matmuls and the patch conv (2·MACs), the same for every
// policy; GEMM_GFLOP/s is a GEMM of the blocks' MLP shape ([B·N, D]·[D, 4D]) in the policy's matmul dtype,
// timed in the same process just before; vs_GEMM is their ratio (docs/performance.md targets ≥ 0.70 in fp32,
// ≥ 0.45 in bf16).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <string>

#include "bench/bench_common.hpp"
#include "bench/registry.hpp"
#include "reference/model/backbone.hpp"
#include "reference/precision/autocast_guard.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/policy.hpp"

namespace {

using amt::bench::PolicyKind;

void BM_BackboneForward(benchmark::State& state, const std::string& preset, PolicyKind kind, int64_t batch,
                        int64_t H, int64_t W) {
  const amt::precision::PrecisionPolicy policy(kind);
  const auto cfg = amt::model::preset(preset);
  auto model = amt::model::make_backbone(cfg, 0);
  amt::precision::apply_param_dtype(*model, policy);
  model->eval();
  torch::NoGradGuard no_grad;
  // Steady-state inference, as the trainer's validation runs and as eager PyTorch runs a loop inside one
  // autocast context: under bf16-autocast the weights are cast once, not per forward.
  const amt::precision::WeightCastCache weight_casts(policy);
  const torch::Tensor pixels =
      amt::precision::conform_image(torch::randn({batch, 3, H, W}), policy, "pixel_values");
  const double gemm = amt::bench::mlp_gemm_gflops(cfg, batch, H, W, kind);
  model->forward(pixels, policy);  // warm-up: oneDNN primitive creation, allocator
  const double seconds = amt::bench::timed_loop(state, [&] {
    auto out = model->forward(pixels, policy);
    benchmark::DoNotOptimize(out.patch.data_ptr());
  });
  const double flops = batch * amt::bench::vit_forward_flops(cfg, H / cfg.patch_size, W / cfg.patch_size);
  amt::bench::report_against_gemm(state, flops, seconds, gemm, batch);
}

}  // namespace

void amt::bench::register_backbone_benchmarks() {
  struct Size {
    int64_t h, w;
  };
  for (const char* preset : {"dinov2-tiny", "dinov2-s14"})
    for (const Size size : {Size{224, 224}, Size{448, 336}})
      for (const int64_t batch : {1, 4})
        for (const PolicyKind kind : kPolicies) {
          const std::string name = precision::PrecisionPolicy(kind).name();
          const std::string label = std::string("BM_BackboneForward/") + preset + "/" +
                                    std::to_string(size.h) + "x" + std::to_string(size.w) + "/b" +
                                    std::to_string(batch) + "/" + name;
          benchmark::RegisterBenchmark(label.c_str(), BM_BackboneForward, preset, kind, batch, size.h, size.w)
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime()
              ->MinTime(1.0);
        }
}
