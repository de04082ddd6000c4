// amt_conformance embed: a backbone checkpoint on a case file's pixel_values → cls / patch (/ registers).
#include "conformance/cli/embed.hpp"

#include <torch/torch.h>

#include <iostream>

#include "conformance/cli/subcommand.hpp"
#include "program/command_line.hpp"
#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/model/weights_loader.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/islands.hpp"
#include "reference/precision/policy.hpp"

namespace amt::cli {

using namespace amt::model;

EmbedSummary run_embed(const EmbedRequest& r) {
  const precision::PrecisionPolicy policy = precision::PrecisionPolicy::parse(r.dtype);
  const io::Safetensors in = io::read_safetensors(r.input);
  const torch::Tensor& pixels = in.at("pixel_values");
  if (!torch::isFloatingType(pixels.scalar_type())) {
    throw FormatError(r.input, "pixel_values",
                      std::string("dtype ") + c10::toString(pixels.scalar_type()) + " is not a float dtype");
  }
  if (pixels.dim() != 4 || pixels.size(1) != 3) {
    throw FormatError(r.input, "pixel_values", "shape " + c10::str(pixels.sizes()) + " is not [B,3,H,W]");
  }

  BackboneLoadOptions options;
  options.kind = r.kind;
  options.config_path = r.config_path;
  if (r.kind == BackboneKind::kDinov2) options.pos_interp = r.interp;  // DINOv3 has no position table
  auto backbone = load_backbone(r.weights, options, policy);

  BackboneOutput out;
  try {
    torch::NoGradGuard no_grad;
    out = backbone->forward(precision::conform_image(pixels, policy, "pixel_values"), policy);
  } catch (const ShapeError& e) {
    rethrow_with_prefix(e, r.input + " [pixel_values]: ");
  } catch (const ValueError& e) {
    rethrow_with_prefix(e, r.input + " [pixel_values]: ");
  } catch (const DtypeError& e) {
    rethrow_with_prefix(e, r.input + " [pixel_values]: ");
  }

  std::map<std::string, torch::Tensor> tensors = {{"cls", precision::to_output(out.cls, policy)},
                                                  {"patch", precision::to_output(out.patch, policy)}};
  const int64_t regs = out.registers.size(1);
  if (regs > 0) tensors["registers"] = precision::to_output(out.registers, policy);
  std::map<std::string, std::string> meta = {{"backbone", backbone_kind_name(r.kind)},
                                             {"dtype", policy.name()},
                                             {"weights", r.weights},
                                             {"input", r.input},
                                             {"grid_h", std::to_string(out.Hp)},
                                             {"grid_w", std::to_string(out.Wp)}};
  if (r.kind == BackboneKind::kDinov2) meta["interp"] = pos_interp_name(r.interp);
  io::write_safetensors(r.output, tensors, meta);

  EmbedSummary s;
  s.batch = pixels.size(0);
  s.height = pixels.size(2);
  s.width = pixels.size(3);
  s.grid_h = out.Hp;
  s.grid_w = out.Wp;
  s.registers = regs;
  s.dim = out.cls.size(1);
  return s;
}

}  // namespace amt::cli

namespace {

struct EmbedArgs {
  std::string backbone, interp = "hf", dtype = "fp32";
  amt::cli::EmbedRequest request;
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
      app.add_option("--dtype", args->dtype, "precision policy (" + amt::program::policy_list() + ")")
          ->check(amt::program::policy_check())
          ->capture_default_str();
      app.add_option("--config", args->request.config_path,
                     "model config (HF config.json style); default: config.json beside the weights, else the "
                     "weights file's __metadata__ \"config\"");
      return [args] {
        amt::cli::EmbedRequest r = args->request;
        r.kind = amt::model::parse_backbone_kind(args->backbone);
        r.interp = amt::model::parse_pos_interp(args->interp);
        r.dtype = args->dtype;
        const auto s = amt::cli::run_embed(r);
        std::cout << "embed: " << r.output << ": " << s.batch << " image(s) " << s.height << "x" << s.width
                  << ", " << s.grid_h << "x" << s.grid_w << " patches, D=" << s.dim << ", " << s.registers
                  << " register(s), " << r.dtype << "\n";
        return 0;
      };
    }};

}  // namespace
