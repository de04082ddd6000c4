// amt_conformance forward: the AMT model on a batch file → every named output (P5 dtypes).
#include "conformance/cli/forward.hpp"

#include <torch/torch.h>

#include <iostream>

#include "conformance/cli/subcommand.hpp"
#include "program/command_line.hpp"
#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/model/amt_model.hpp"
#include "reference/model/forward_batch.hpp"
#include "reference/precision/boundary.hpp"

namespace amt::cli {

using namespace amt::model;

ForwardSummary run_forward(const ForwardRequest& r) {
  const precision::PrecisionPlan plan(precision::PrecisionPolicy::parse(r.policy), r.keep_fp32);
  const precision::PrecisionPolicy& policy = plan.policy();
  const AmtConfig cfg = load_amt_config(r.config);
  const TensorMap batch = read_forward_batch(r.input);
  const torch::Tensor& image = batch.at("image");
  const int64_t B = image.size(0);

  // Built and loaded in fp32, then set for the plan: a kept module's weights never pass through bf16.
  const precision::PrecisionPolicy fp32(precision::PolicyKind::kFp32, policy.device());
  AmtModel model = make_amt_model(cfg, r.seed, fp32);
  if (!r.weights.empty()) load_amt_weights(*model, r.weights, fp32);
  precision::apply_param_dtype(*model, plan);
  model->eval();

  TensorMap out;
  try {
    torch::NoGradGuard no_grad;
    out = model->forward(precision::conform_batch(batch, policy), plan);
  } catch (const ShapeError& e) {
    rethrow_with_prefix(e, r.input + ": ");
  } catch (const ValueError& e) {
    rethrow_with_prefix(e, r.input + ": ");
  } catch (const DtypeError& e) {
    rethrow_with_prefix(e, r.input + ": ");
  }
  io::write_safetensors(r.output, out,
                        {{"config", cfg.name},
                         {"policy", plan.name()},
                         {"weights", r.weights.empty() ? "seed:" + std::to_string(r.seed) : r.weights},
                         {"input", r.input}});
  ForwardSummary s;
  s.batch = B;
  s.height = image.size(2);
  s.width = image.size(3);
  s.grid_h = s.height / cfg.backbone.patch_size;
  s.grid_w = s.width / cfg.backbone.patch_size;
  s.outputs = static_cast<int64_t>(out.size());
  return s;
}

}  // namespace amt::cli

namespace {

const amt::cli::Registration kForward{
    "forward",
    "Run the AMT model (config + weights or seed) on a batch (image [B,3,H,W] u8 or float, K [B,3,3], "
    "optional E [B,4,4]) and write every named output in the dtype docs/precision.md promises",
    [](CLI::App& app) -> std::function<int()> {
      auto r = std::make_shared<amt::cli::ForwardRequest>();
      app.add_option("--config", r->config, "config name (configs/NAME.yaml) or YAML path")
          ->capture_default_str();
      auto* weights = app.add_option("--weights", r->weights, "full-model safetensors checkpoint");
      app.add_option("--seed", r->seed, "deterministic random weights (same for every policy)")
          ->excludes(weights)
          ->capture_default_str();
      app.add_option("--input", r->input, "batch safetensors")->required();
      amt::program::add_policy_option(app, r->policy, "precision policy")->capture_default_str();
      app.add_option("--keep-fp32", r->keep_fp32,
                     "module paths computed in fp32 whatever the policy (comma-separated; e.g. "
                     "refinement,encoder.backbone.encoder.layer.3.mlp; `amt_conformance probe` lists them)")
          ->delimiter(',');
      app.add_option("--out", r->output, "output safetensors")->required();
      return [r] {
        const auto s = amt::cli::run_forward(*r);
        std::cout << "forward: " << r->output << ": " << s.batch << " image(s) " << s.height << "x" << s.width
                  << ", " << s.grid_h << "x" << s.grid_w << " patches, " << s.outputs << " outputs, "
                  << r->policy
                  << (r->keep_fp32.empty()
                          ? ""
                          : " keeping " + std::to_string(r->keep_fp32.size()) + " module(s) in fp32")
                  << "\n";
        return 0;
      };
    }};

}  // namespace
