#include "reference/model/forward_cli.hpp"

#include <torch/torch.h>

#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/model/amt_model.hpp"
#include "reference/precision/boundary.hpp"

namespace amt::model {

precision::TensorMap read_forward_batch(const std::string& path) {
  const io::Safetensors in = io::read_safetensors(path);
  precision::TensorMap batch;
  batch["image"] = in.at("image");
  batch["K"] = in.at("K");
  if (in.has("E")) batch["E"] = in.at("E");
  const torch::Tensor& image = batch["image"];
  if (image.dim() != 4 || image.size(1) != 3) {
    throw FormatError(path, "image", "shape " + c10::str(image.sizes()) + " is not [B,3,H,W]");
  }
  const int64_t B = image.size(0);
  const auto check_camera = [&](const char* name, int64_t n) {
    const torch::Tensor& t = batch.at(name);
    if (t.dim() != 3 || t.size(0) != B || t.size(1) != n || t.size(2) != n) {
      throw FormatError(path, name,
                        "shape " + c10::str(t.sizes()) + " is not [" + std::to_string(B) + "," +
                            std::to_string(n) + "," + std::to_string(n) + "]");
    }
  };
  check_camera("K", 3);
  if (batch.count("E")) check_camera("E", 4);
  for (const auto& name : in.names) {
    if (name != "image" && name != "K" && name != "E") {
      throw FormatError(path, name, "unexpected tensor (a forward batch holds image, K and optionally E)");
    }
  }
  return batch;
}

ForwardSummary run_forward(const ForwardRequest& r) {
  const precision::PrecisionPlan plan(precision::PrecisionPolicy::parse(r.policy), r.keep_fp32);
  const precision::PrecisionPolicy& policy = plan.policy();
  const AmtConfig cfg = load_amt_config(r.config);
  const precision::TensorMap batch = read_forward_batch(r.input);
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

}  // namespace amt::model
