// The inverse of parse_hf_config: an HF config.json text for a VitConfig, so a backbone the trainer saves
// (HF key names) carries its architecture in the safetensors metadata ("config") and loads anywhere a
// downloaded checkpoint does (`amt_conformance embed --weights`, load_backbone).
#pragma once
#include <string>

#include "reference/model/vit_config.hpp"

namespace amt::model {

// model_type dinov2 / dinov3_vit with every field parse_hf_config reads; parse_hf_config(hf_config_json(c))
// describes the same architecture. amt::ConfigError when a DINOv2 SwiGLU width is not expressible as an HF
// mlp_ratio.
std::string hf_config_json(const VitConfig& config);

}  // namespace amt::model
