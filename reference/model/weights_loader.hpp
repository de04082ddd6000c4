// Loading HuggingFace safetensors checkpoints into the backbones by their HF key names.
#pragma once
#include <torch/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reference/model/backbone.hpp"
#include "reference/precision/policy.hpp"

namespace torch::nn {
class Module;
}

namespace amt::model {

struct LoadReport {
  std::vector<std::string> loaded;      // keys copied into parameters
  std::vector<std::string> missing;     // parameters the file lacks
  std::vector<std::string> unexpected;  // file tensors no parameter takes
  std::vector<std::string>
      mismatched;  // "key (file [..] vs model [..])" or "key (dtype Long is not a float dtype)"
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
};

// Copies `tensors` into `module`'s parameters by name (named_parameters() keys). Every problem is collected
// first: a shape or dtype mismatch always throws, missing and unexpected keys throw when `strict`; the one
// amt::CheckpointError lists them all on a single line, naming `source`. Nothing is copied unless the whole
// file is acceptable. Any floating dtype is accepted (converted by the copy); integer/bool tensors are not.
LoadReport load_state_dict(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& tensors,
                           const std::string& source, bool strict = true);

// Where the architecture comes from, first match wins:
//   1. `config_path` when non-empty (an HF config.json-style file);
//   2. config.json in the weights file's folder;
//   3. the JSON string under the weights file's __metadata__ key "config".
// `metadata` is the weights file's __metadata__. Throws amt::ConfigError naming the weights file and the
// places looked in when none exists; parse errors name the file they come from.
VitConfig resolve_config(const std::string& weights_path, const std::map<std::string, std::string>& metadata,
                         const std::string& config_path = "",
                         std::optional<BackboneKind> expected = std::nullopt);

struct BackboneLoadOptions {
  std::optional<BackboneKind> kind;     // when set, the config must describe this family
  std::string config_path;              // explicit config file (see resolve_config)
  std::optional<PosInterp> pos_interp;  // DINOv2 resampling mode; overrides the config's
  bool strict = true;
};

// Reads a safetensors checkpoint, resolves its config, builds the backbone, loads the weights strictly, then
// casts the parameters to `policy`'s parameter dtype (precision::apply_param_dtype).
std::shared_ptr<Backbone> load_backbone(
    const std::string& weights_path, const BackboneLoadOptions& options = {},
    const precision::PrecisionPolicy& policy = precision::PrecisionPolicy());

}  // namespace amt::model
