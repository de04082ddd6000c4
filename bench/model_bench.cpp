// The full AMT model (configs tiny and small, random init, a dummy batch of 2 from the harness's case
// generator) per precision policy, through the product's paths: forward = conformance::run_model
// (conform_batch → AmtModel::forward → compute_losses, no gradients, eval mode); train step =
// train::training_step (forward, losses, backward, clipping, AdamW; train mode), the function the trainer
// runs. GFLOP/s counts the backbone's matmuls only (×3 for a train step: forward + two backward GEMMs), a
// lower bound of what the whole model achieves; GEMM_GFLOP/s and vs_GEMM as in backbone_bench.cpp.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <chrono>
#include <string>

#include "bench/gemm_reference.hpp"
#include "bench/registry.hpp"
#include "conformance/lib/case.hpp"
#include "conformance/lib/case_model.hpp"
#include "reference/model/amt_model.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/policy.hpp"
#include "reference/train/train_step.hpp"

namespace {

using amt::precision::PolicyKind;

struct ModelCase {
  const char* config;
  int64_t shuffle, height, width;
};
constexpr int64_t kBatch = 2;

amt::conformance::Case make_case(const ModelCase& m, const std::string& policy) {
  amt::conformance::Case c;
  c.property = "bench";
  c.config = m.config;
  c.shuffle = m.shuffle;
  c.policy = policy;
  c.batch = kBatch;
  c.height = m.height;
  c.width = m.width;
  c.seed = 1;
  return c;
}

double backbone_flops(const amt::model::VitConfig& c, int64_t H, int64_t W) {
  const double hp = H / c.patch_size, wp = W / c.patch_size, n = 1.0 + c.num_register_tokens + hp * wp;
  const double d = c.hidden_size, f = c.intermediate_size;
  return c.num_layers * (2 * n * 4 * d * d + 4 * n * n * d + 4 * n * d * f) +
         2.0 * hp * wp * d * 3 * c.patch_size * c.patch_size;
}

void report(benchmark::State& state, double flops_per_iteration, double seconds, double gemm) {
  const double gflops = flops_per_iteration * static_cast<double>(state.iterations()) / seconds * 1e-9;
  state.counters["GFLOP/s"] = gflops;
  state.counters["GEMM_GFLOP/s"] = gemm;
  state.counters["vs_GEMM"] = gflops / gemm;
  state.counters["threads"] = torch::get_num_threads();
  state.SetItemsProcessed(state.iterations() * kBatch);
}

double gemm_for(const amt::model::AmtConfig& cfg, int64_t H, int64_t W, PolicyKind kind) {
  const auto& b = cfg.backbone;
  const int64_t tokens = kBatch * (1 + (H / b.patch_size) * (W / b.patch_size));
  return amt::bench::gemm_gflops(tokens, b.hidden_size, b.intermediate_size,
                                 kind == PolicyKind::kFp32 ? torch::kFloat : torch::kBFloat16);
}

void BM_ModelForward(benchmark::State& state, ModelCase m, PolicyKind kind, std::string policy_name) {
  const amt::precision::PrecisionPolicy policy(kind);
  const amt::conformance::Case c = make_case(m, policy_name);
  const amt::conformance::TensorMap batch = amt::conformance::make_case_batch(c);
  const amt::model::AmtConfig cfg = amt::conformance::case_config(c);
  const double gemm = gemm_for(cfg, m.height, m.width, kind);
  amt::conformance::run_model(c, batch, policy);  // warm-up; builds and caches the model
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(amt::conformance::run_model(c, batch, policy).loss.total);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report(state, kBatch * backbone_flops(cfg.backbone, m.height, m.width), seconds, gemm);
}

void BM_TrainStep(benchmark::State& state, ModelCase m, PolicyKind kind, std::string policy_name) {
  const amt::precision::PrecisionPolicy policy(kind);
  const amt::conformance::Case c = make_case(m, policy_name);
  const amt::model::AmtConfig cfg = amt::conformance::case_config(c);
  amt::model::AmtModel model = amt::model::make_amt_model(cfg, 0, policy);
  model->train();
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-4));
  const auto batch = amt::precision::conform_batch(amt::conformance::make_case_batch(c), policy);
  const amt::train::LossWeights weights;
  const double gemm = gemm_for(cfg, m.height, m.width, kind);
  amt::train::training_step(*model, optimizer, batch, weights, policy, 1.0);  // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state)
    benchmark::DoNotOptimize(amt::train::training_step(*model, optimizer, batch, weights, policy, 1.0).loss);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report(state, 3 * kBatch * backbone_flops(cfg.backbone, m.height, m.width), seconds, gemm);
}

}  // namespace

void amt::bench::register_model_benchmarks() {
  for (const ModelCase m : {ModelCase{"tiny", 1, 224, 168}, ModelCase{"small", 2, 448, 336}})
    for (const auto& [kind, name] :
         {std::pair{PolicyKind::kFp32, "fp32"}, std::pair{PolicyKind::kBf16Autocast, "bf16-autocast"},
          std::pair{PolicyKind::kBf16Pure, "bf16-pure"}}) {
      const std::string tail = std::string("/") + m.config + "/" + std::to_string(m.height) + "x" +
                               std::to_string(m.width) + "/b" + std::to_string(kBatch) + "/" + name;
      benchmark::RegisterBenchmark(("BM_ModelForward" + tail).c_str(), BM_ModelForward, m, kind, name)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(1.0);
      benchmark::RegisterBenchmark(("BM_TrainStep" + tail).c_str(), BM_TrainStep, m, kind, name)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(1.0);
    }
}
