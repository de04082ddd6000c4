#include "reference/model/weights_loader.hpp"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"

namespace amt::model {

namespace {

std::string shape_str(torch::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

LoadReport load_state_dict(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& tensors,
                           const std::string& source, bool strict) {
  LoadReport report;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (parameter, file tensor)
  std::map<std::string, bool> taken;
  for (const auto& item : module.named_parameters()) {
    const std::string& key = item.key();
    const torch::Tensor& param = item.value();
    if (!param.defined()) continue;  // an optional parameter switched off (a Linear without bias)
    auto it = tensors.find(key);
    if (it == tensors.end()) {
      report.missing.push_back(key);
      continue;
    }
    taken[key] = true;
    const torch::Tensor& t = it->second;
    if (!torch::isFloatingType(t.scalar_type())) {
      report.mismatched.push_back(key + " (dtype " + c10::toString(t.scalar_type()) +
                                  " is not a float dtype)");
    } else if (t.sizes() != param.sizes()) {
      report.mismatched.push_back(key + " (file " + shape_str(t.sizes()) + " vs model " +
                                  shape_str(param.sizes()) + ")");
    } else {
      copies.emplace_back(param, t);
      report.loaded.push_back(key);
    }
  }
  for (const auto& [key, t] : tensors) {
    if (!taken.count(key)) report.unexpected.push_back(key);
  }
  const bool fail =
      !report.mismatched.empty() || (strict && (!report.missing.empty() || !report.unexpected.empty()));
  if (fail) {
    std::vector<std::string> parts;
    if (!report.missing.empty()) parts.push_back("missing: " + join(report.missing));
    if (strict && !report.unexpected.empty()) parts.push_back("unexpected: " + join(report.unexpected));
    if (!report.mismatched.empty()) parts.push_back("mismatched: " + join(report.mismatched));
    const size_t count =
        report.mismatched.size() + report.missing.size() + (strict ? report.unexpected.size() : 0);
    std::string msg = source + ": checkpoint does not fit the model (" + std::to_string(count) + " problem" +
                      (count == 1 ? "" : "s") + ")";
    for (const auto& p : parts) msg += "; " + p;
    throw CheckpointError(msg);
  }
  torch::NoGradGuard no_grad;
  for (auto& [param, t] : copies) param.copy_(t);  // loading, not model code: copy_ converts the file dtype
  return report;
}

namespace {
std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, "cannot open config file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

VitConfig resolve_config(const std::string& weights_path, const std::map<std::string, std::string>& metadata,
                         const std::string& config_path, std::optional<BackboneKind> expected) {
  const BackboneKind* want = expected ? &*expected : nullptr;
  if (!config_path.empty()) return parse_hf_config(read_text(config_path), config_path, want);
  const std::filesystem::path beside = std::filesystem::path(weights_path).parent_path() / "config.json";
  if (std::filesystem::is_regular_file(beside))
    return parse_hf_config(read_text(beside.string()), beside.string(), want);
  if (auto it = metadata.find("config"); it != metadata.end()) {
    return parse_hf_config(it->second, weights_path + " [__metadata__.config]", want);
  }
  throw ConfigError(weights_path + ": no model config: none given, no " + beside.string() +
                    ", and no \"config\" entry in the file's __metadata__");
}

std::shared_ptr<Backbone> load_backbone(const std::string& weights_path, const BackboneLoadOptions& options,
                                        const precision::PrecisionPolicy& policy) {
  const io::Safetensors file = io::read_safetensors(weights_path);
  VitConfig cfg = resolve_config(weights_path, file.metadata, options.config_path, options.kind);
  if (options.pos_interp) cfg.pos_interp = *options.pos_interp;
  std::shared_ptr<Backbone> model = make_backbone(cfg);
  load_state_dict(*model, file.tensors, weights_path, options.strict);
  precision::apply_param_dtype(*model, policy);
  return model;
}

}  // namespace amt::model
