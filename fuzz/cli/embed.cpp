// amt_conformance embed: a backbone checkpoint on a case file's pixel_values → cls / patch (/ registers).
#include <iostream>

#include "fuzz/cli/subcommand.hpp"
#include "reference/model/embed.hpp"
#include "reference/precision/policy.hpp"

namespace {

struct EmbedArgs {
  std::string backbone, interp = "hf", dtype = "fp32";
  amt::model::EmbedRequest request;
};

const amt::cli::Registration kEmbed{
    "embed",
    "Run a DINOv2/DINOv3 checkpoint (HF safetensors) on pixel_values [B,3,H,W] and write cls, patch (and "
    "registers) after the final norm, as fp32 (fp64 for --dtype fp64)",
    [](CLI::App& app) -> std::function<int()> {
      auto args = std::make_shared<EmbedArgs>();
      app.add_option("--backbone", args->backbone, "dinov2 | dinov3")
          ->required()
          ->check(CLI::IsMember({"dinov2", "dinov3"}));
      app.add_option("--weights", args->request.weights, "HF safetensors checkpoint")->required();
      app.add_option("--input", args->request.input, "safetensors file holding pixel_values [B,3,H,W]")
          ->required();
      app.add_option("--out", args->request.output, "output safetensors file")->required();
      app.add_option(
             "--interp", args->interp,
             "DINOv2 position-table resampling: hf (explicit size) | meta (scale factor, offset 0.1); "
             "ignored for dinov3")
          ->check(CLI::IsMember({"hf", "meta"}))
          ->capture_default_str();
      app.add_option("--dtype", args->dtype, "precision policy")
          ->check(CLI::IsMember({"fp32", "fp64", "bf16-autocast", "bf16-pure"}))
          ->capture_default_str();
      app.add_option("--config", args->request.config_path,
                     "model config (HF config.json style); default: config.json beside the weights, else the "
                     "weights file's __metadata__ \"config\"");
      return [args] {
        amt::model::EmbedRequest r = args->request;
        r.kind = amt::model::parse_backbone_kind(args->backbone);
        r.interp = amt::model::parse_pos_interp(args->interp);
        r.dtype = args->dtype;
        const auto s = amt::model::run_embed(r);
        std::cout << "embed: " << r.output << ": " << s.batch << " image(s) " << s.height << "x" << s.width
                  << ", " << s.grid_h << "x" << s.grid_w << " patches, D=" << s.dim << ", " << s.registers
                  << " register(s), " << r.dtype << "\n";
        return 0;
      };
    }};

}  // namespace
