#include "conformance/lib/case_model.hpp"

#include <torch/torch.h>

#include "reference/core/error.hpp"
#include "reference/io/sha256.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/faults.hpp"

namespace amt::conformance {

const std::vector<std::string>& backbone_variants() {
  static const std::vector<std::string> names = {"dinov2-hf", "dinov2-meta", "dinov3"};
  return names;
}

std::vector<std::string> backbone_variants(const std::string& config) {
  // Asked for every generated case: the config is parsed once per name.
  static std::map<std::string, std::vector<std::string>> cache;
  auto it = cache.find(config);
  if (it != cache.end()) return it->second;
  const model::AmtConfig cfg = model::load_amt_config(config);
  std::vector<std::string> v = cfg.backbone.name == "dinov2-tiny" ? backbone_variants()
                               : cfg.backbone.kind == model::BackboneKind::kDinov3
                                   ? std::vector<std::string>{"dinov3"}
                                   : std::vector<std::string>{"dinov2-hf", "dinov2-meta"};
  return cache.emplace(config, std::move(v)).first->second;
}

namespace {
model::AmtConfig build_case_config(const Case& c) {
  model::AmtConfig cfg = model::load_amt_config(c.config);
  const std::string size = cfg.backbone.name.substr(cfg.backbone.name.find('-') + 1);  // "tiny", "s14"
  if (c.backbone == "dinov2-hf" || c.backbone == "dinov2-meta") {
    if (cfg.backbone.kind != model::BackboneKind::kDinov2) cfg.backbone = model::preset("dinov2-tiny");
    cfg.backbone.pos_interp = c.backbone == "dinov2-hf" ? model::PosInterp::kHf : model::PosInterp::kMeta;
  } else if (c.backbone == "dinov3") {
    if (cfg.backbone.kind != model::BackboneKind::kDinov3) {
      if (size != "tiny") throw ConfigError("case: backbone dinov3 is only available for the tiny config");
      cfg.backbone = model::preset("dinov3-tiny");
    }
  } else {
    throw ConfigError("case: unknown backbone variant '" + c.backbone +
                      "' (known: dinov2-hf, dinov2-meta, dinov3)");
  }
  cfg.token_shuffle = c.shuffle;
  cfg.name += "/" + c.backbone + (c.shuffle > 1 ? "/s" + std::to_string(c.shuffle) : "");
  return cfg;
}
}  // namespace

model::AmtConfig case_config(const Case& c) {
  // Parsed once per variant: generators and every case ask for it.
  static std::map<std::string, model::AmtConfig> cache;
  const std::string key = c.config + "/" + c.backbone + "/" + std::to_string(c.shuffle);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, build_case_config(c)).first;
  return it->second;
}

int64_t case_side_quantum(const Case& c) {
  return case_config(c).backbone.patch_size * c.shuffle;
}

model::AmtModel& case_model(const Case& c, const precision::PrecisionPolicy& policy) {
  static std::map<std::string, model::AmtModel> cache;
  const model::AmtConfig cfg = case_config(c);
  const std::string key = cfg.name + "@" + policy.name();
  auto it = cache.find(key);
  if (it == cache.end()) {
    it = cache.emplace(key, model::make_amt_model(cfg, 0, policy)).first;
    it->second->eval();
  }
  return it->second;
}

namespace {
ModelRun forward_and_losses(model::AmtModel& m, const TensorMap& batch,
                            const precision::PrecisionPolicy& policy) {
  ModelRun r;
  r.conformed = precision::conform_batch(batch, policy);
  r.outputs = m->forward(r.conformed, policy, &r.probes);
  r.loss = train::compute_losses(r.outputs, r.conformed, train::LossWeights{}, policy);
  return r;
}
}  // namespace

ModelRun run_model(const Case& c, const TensorMap& batch, const precision::PrecisionPolicy& policy) {
  torch::NoGradGuard no_grad;
  return forward_and_losses(case_model(c, policy), batch, policy);
}

ModelRun run_model_with_gradients(const Case& c, const TensorMap& batch,
                                  const precision::PrecisionPolicy& policy) {
  model::AmtModel& m = case_model(c, policy);
  m->zero_grad();
  try {
    ModelRun r = forward_and_losses(m, batch, policy);
    r.loss.total.backward();
    return r;
  } catch (...) {
    m->zero_grad();
    throw;
  }
}

ModelRun reference_run(const Case& c, const TensorMap& batch) {
  FaultsSuspended no_faults;
  return run_model(c, batch, precision::PrecisionPolicy(precision::PolicyKind::kFp32));
}

std::string case_weights_sha256(const Case& c) {
  model::AmtModel& m = case_model(c, precision::PrecisionPolicy(precision::PolicyKind::kFp32));
  io::Sha256 h;
  for (const auto& item : m->named_parameters()) {
    const torch::Tensor t = item.value().detach().contiguous().cpu();
    h.update(item.key());
    h.update(t.data_ptr(), t.numel() * t.element_size());
  }
  return h.hex();
}

}  // namespace amt::conformance
