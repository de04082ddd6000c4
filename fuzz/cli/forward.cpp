// amt_conformance forward: the AMT model on a batch file → every named output (P5 dtypes).
#include <iostream>

#include "fuzz/cli/subcommand.hpp"
#include "reference/model/forward_cli.hpp"

namespace {

const amt::cli::Registration kForward{
    "forward",
    "Run the AMT model (config + weights or seed) on a batch (image [B,3,H,W] u8 or float, K [B,3,3], "
    "optional E [B,4,4]) and write every named output in the dtype docs/precision.md promises",
    [](CLI::App& app) -> std::function<int()> {
      auto r = std::make_shared<amt::model::ForwardRequest>();
      app.add_option("--config", r->config, "config name (configs/NAME.yaml) or YAML path")
          ->capture_default_str();
      auto* weights = app.add_option("--weights", r->weights, "full-model safetensors checkpoint");
      app.add_option("--seed", r->seed, "deterministic random weights (same for every policy)")
          ->excludes(weights)
          ->capture_default_str();
      app.add_option("--input", r->input, "batch safetensors")->required();
      app.add_option("--policy", r->policy, "precision policy")
          ->check(CLI::IsMember({"fp32", "bf16-autocast", "bf16-pure", "fp64"}))
          ->capture_default_str();
      app.add_option("--keep-fp32", r->keep_fp32,
                     "module paths computed in fp32 whatever the policy (comma-separated; e.g. "
                     "refinement,encoder.backbone.encoder.layer.3.mlp; `amt_conformance probe` lists them)")
          ->delimiter(',');
      app.add_option("--out", r->output, "output safetensors")->required();
      return [r] {
        const auto s = amt::model::run_forward(*r);
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
