// The full AMT model (configs tiny and small, random init, a dummy batch of 2 from the harness's case
// generator) per precision policy, through the product's paths: forward = conformance::run_model
// (conform_batch → AmtModel::forward → compute_losses, no gradients, eval mode); train step =
// train::training_step (forward, losses, backward, clipping, AdamW; train mode), the function the trainer
// runs. GFLOP/s counts the backbone's matmuls only (×3 for a train step: forward + two backward GEMMs), a
// lower bound of what the whole model achieves; GEMM_GFLOP/s and vs_GEMM as in bench_common.hpp.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <string>

#include "bench/bench_common.hpp"
#include "bench/registry.hpp"
#include "conformance/lib/case.hpp"
#include "conformance/lib/case_model.hpp"
#include "reference/model/amt_model.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/policy.hpp"
#include "reference/train/train_step.hpp"

namespace {

using amt::bench::PolicyKind;

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

// The backbone's FLOPs for the batch (heads, losses and backward beyond its GEMMs are not counted).
double batch_backbone_flops(const amt::model::AmtConfig& cfg, const ModelCase& m) {
  const auto& b = cfg.backbone;
  return kBatch * amt::bench::vit_forward_flops(b, m.height / b.patch_size, m.width / b.patch_size);
}

void BM_ModelForward(benchmark::State& state, ModelCase m, PolicyKind kind, std::string policy_name) {
  const amt::precision::PrecisionPolicy policy(kind);
  const amt::conformance::Case c = make_case(m, policy_name);
  const amt::TensorMap batch = amt::conformance::make_case_batch(c);
  const amt::model::AmtConfig cfg = amt::conformance::case_config(c);
  const double gemm = amt::bench::mlp_gemm_gflops(cfg.backbone, kBatch, m.height, m.width, kind);
  amt::conformance::run_model(c, batch, policy);  // warm-up; builds and caches the model
  const double seconds = amt::bench::timed_loop(
      state, [&] { benchmark::DoNotOptimize(amt::conformance::run_model(c, batch, policy).loss.total); });
  amt::bench::report_against_gemm(state, batch_backbone_flops(cfg, m), seconds, gemm, kBatch);
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
  const double gemm = amt::bench::mlp_gemm_gflops(cfg.backbone, kBatch, m.height, m.width, kind);
  amt::train::training_step(*model, optimizer, batch, weights, policy, 1.0);  // warm-up
  const double seconds = amt::bench::timed_loop(state, [&] {
    benchmark::DoNotOptimize(amt::train::training_step(*model, optimizer, batch, weights, policy, 1.0).loss);
  });
  amt::bench::report_against_gemm(state, 3 * batch_backbone_flops(cfg, m), seconds, gemm, kBatch);
}

}  // namespace

void amt::bench::register_model_benchmarks() {
  for (const ModelCase m : {ModelCase{"tiny", 1, 224, 168}, ModelCase{"small", 2, 448, 336}})
    for (const PolicyKind kind : kPolicies) {
      const std::string name = precision::PrecisionPolicy(kind).name();
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
