#include "reference/model/hf_config_writer.hpp"

#include <nlohmann/json.hpp>

#include "reference/core/error.hpp"

namespace amt::model {

std::string hf_config_json(const VitConfig& c) {
  validate(c);
  nlohmann::json j;
  j["hidden_size"] = c.hidden_size;
  j["num_hidden_layers"] = c.num_layers;
  j["num_attention_heads"] = c.num_heads;
  j["num_channels"] = c.num_channels;
  j["patch_size"] = c.patch_size;
  j["image_size"] = c.image_size;
  j["layer_norm_eps"] = c.layer_norm_eps;
  j["layerscale_value"] = c.layerscale_value;
  j["num_register_tokens"] = c.num_register_tokens;
  const char* act = c.activation == Activation::kGelu ? "gelu" : "silu";
  if (c.kind == BackboneKind::kDinov2) {
    j["model_type"] = c.num_register_tokens > 0 ? "dinov2_with_registers" : "dinov2";
    j["qkv_bias"] = c.query_bias;
    j["use_swiglu_ffn"] = c.gated_mlp;
    // HF derives the MLP width from mlp_ratio (SwiGLU: 2/3 of it, rounded up to a multiple of 8).
    double ratio = static_cast<double>(c.intermediate_size) / static_cast<double>(c.hidden_size);
    if (c.gated_mlp) {
      ratio = 4.0;
      const int64_t width = (static_cast<int64_t>(static_cast<double>(c.hidden_size * 8) / 3.0) + 7) / 8 * 8;
      if (width != c.intermediate_size)
        throw ConfigError(c.name + ": SwiGLU width " + std::to_string(c.intermediate_size) +
                          " is not HF's width for mlp_ratio 4 (" + std::to_string(width) + ")");
    } else {
      j["hidden_act"] = act;
    }
    j["mlp_ratio"] = ratio;
    j["interpolate_offset"] = c.pos_interp == PosInterp::kMeta ? c.interpolate_offset : 0.0;
  } else {
    j["model_type"] = "dinov3_vit";
    j["intermediate_size"] = c.intermediate_size;
    j["use_gated_mlp"] = c.gated_mlp;
    j["hidden_act"] = act;
    j["query_bias"] = c.query_bias;
    j["key_bias"] = c.key_bias;
    j["value_bias"] = c.value_bias;
    j["proj_bias"] = c.proj_bias;
    j["mlp_bias"] = c.mlp_bias;
    j["rope_theta"] = c.rope_theta;
  }
  return j.dump(2);
}

}  // namespace amt::model
