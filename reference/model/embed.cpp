#include "reference/model/embed.hpp"

#include <torch/torch.h>

#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/model/weights_loader.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/islands.hpp"

namespace amt::model {

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

}  // namespace amt::model
