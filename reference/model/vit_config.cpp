#include "reference/model/vit_config.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "reference/core/error.hpp"

namespace amt::model {

using json = nlohmann::json;

const char* backbone_kind_name(BackboneKind kind) {
  return kind == BackboneKind::kDinov2 ? "dinov2" : "dinov3";
}

BackboneKind parse_backbone_kind(const std::string& name) {
  if (name == "dinov2") return BackboneKind::kDinov2;
  if (name == "dinov3") return BackboneKind::kDinov3;
  throw ConfigError("unknown backbone '" + name + "' (known: dinov2, dinov3)");
}

const char* pos_interp_name(PosInterp mode) {
  return mode == PosInterp::kHf ? "hf" : "meta";
}

PosInterp parse_pos_interp(const std::string& name) {
  if (name == "hf") return PosInterp::kHf;
  if (name == "meta") return PosInterp::kMeta;
  throw ConfigError("unknown position interpolation mode '" + name + "' (known: hf, meta)");
}

void validate(const VitConfig& c) {
  auto fail = [&](const std::string& what) { throw ConfigError("backbone config " + c.name + ": " + what); };
  if (c.hidden_size <= 0 || c.num_layers <= 0 || c.num_heads <= 0 || c.intermediate_size <= 0)
    fail("hidden_size, num_hidden_layers, num_attention_heads and the MLP width must be positive");
  if (c.hidden_size % c.num_heads != 0)
    fail("hidden_size " + std::to_string(c.hidden_size) + " is not divisible by num_attention_heads " +
         std::to_string(c.num_heads));
  if (c.patch_size <= 0 || c.num_channels <= 0) fail("patch_size and num_channels must be positive");
  if (c.num_register_tokens < 0) fail("num_register_tokens must be >= 0");
  if (!(c.layer_norm_eps > 0.0)) fail("layer_norm_eps must be > 0");
  if (c.kind == BackboneKind::kDinov2) {
    if (c.image_size <= 0 || c.image_size % c.patch_size != 0)
      fail("image_size " + std::to_string(c.image_size) + " must be a positive multiple of patch_size " +
           std::to_string(c.patch_size));
    if (c.pos_interp == PosInterp::kMeta && !(c.interpolate_offset > 0.0))
      fail("meta position interpolation needs interpolate_offset > 0");
  } else {
    // RoPE pairs dimension d with d + D/2 and gives each axis D/4 frequencies.
    if (c.head_dim() % 4 != 0)
      fail("DINOv3 head_dim " + std::to_string(c.head_dim()) + " must be divisible by 4");
    if (!(c.rope_theta > 0.0)) fail("rope_theta must be > 0");
  }
}

namespace {

// Typed field access with errors that name the file and the field.
struct Fields {
  const json& j;
  const std::string& source;

  [[noreturn]] void bad(const std::string& key, const std::string& what) const {
    throw ConfigError(source + " [" + key + "]: " + what);
  }
  bool has(const std::string& key) const { return j.contains(key) && !j.at(key).is_null(); }
  int64_t integer(const std::string& key, int64_t fallback) const {
    if (!has(key)) return fallback;
    const json& v = j.at(key);
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>())
      return (int64_t)v.get<double>();
    bad(key, "expected an integer, got " + v.dump());
  }
  double number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = j.at(key);
    if (!v.is_number()) bad(key, "expected a number, got " + v.dump());
    return v.get<double>();
  }
  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = j.at(key);
    if (!v.is_boolean()) bad(key, "expected true or false, got " + v.dump());
    return v.get<bool>();
  }
  std::string string(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const json& v = j.at(key);
    if (!v.is_string()) bad(key, "expected a string, got " + v.dump());
    return v.get<std::string>();
  }
  Activation activation(const std::string& key, const std::string& fallback) const {
    const std::string name = string(key, fallback);
    if (name == "gelu") return Activation::kGelu;  // HF "gelu" is the exact erf GELU
    if (name == "silu" || name == "swish") return Activation::kSilu;
    bad(key, "unsupported activation '" + name + "' (supported: gelu (erf), silu)");
  }
};

}  // namespace

VitConfig parse_hf_config(const std::string& json_text, const std::string& source,
                          const BackboneKind* expected) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    throw ConfigError(source + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw ConfigError(source + ": a model config must be a JSON object");
  const Fields f{j, source};

  const std::string model_type = f.string("model_type", "");
  BackboneKind kind;
  if (model_type == "dinov2" || model_type == "dinov2_with_registers") {
    kind = BackboneKind::kDinov2;
  } else if (model_type == "dinov3_vit") {
    kind = BackboneKind::kDinov3;
  } else if (model_type.empty() && expected) {
    kind = *expected;
  } else {
    f.bad("model_type",
          "expected \"dinov2\", \"dinov2_with_registers\" or \"dinov3_vit\", got \"" + model_type + "\"");
  }
  if (expected && *expected != kind)
    f.bad("model_type", "\"" + model_type + "\" is a " + backbone_kind_name(kind) + " config, but " +
                            backbone_kind_name(*expected) + " was requested");

  VitConfig c;
  c.kind = kind;
  c.name = source;
  c.hidden_size = f.integer("hidden_size", kind == BackboneKind::kDinov2 ? 768 : 384);
  c.num_layers = f.integer("num_hidden_layers", 12);
  c.num_heads = f.integer("num_attention_heads", kind == BackboneKind::kDinov2 ? 12 : 6);
  c.num_channels = f.integer("num_channels", 3);
  c.layerscale_value = f.number("layerscale_value", 1.0);
  c.num_register_tokens = f.integer("num_register_tokens", 0);

  if (kind == BackboneKind::kDinov2) {
    c.patch_size = f.integer("patch_size", 14);
    c.image_size = f.integer("image_size", 518);
    c.layer_norm_eps = f.number("layer_norm_eps", 1e-6);
    const double mlp_ratio = f.number("mlp_ratio", 4.0);
    c.intermediate_size = static_cast<int64_t>(static_cast<double>(c.hidden_size) * mlp_ratio);
    c.gated_mlp = f.boolean("use_swiglu_ffn", false) || f.boolean("use_gated_mlp", false);
    if (c.gated_mlp) {
      // HF Dinov2SwiGLUFFN: two thirds of the plain width, rounded up to a multiple of 8; SiLU gate.
      c.intermediate_size =
          (static_cast<int64_t>(static_cast<double>(c.intermediate_size * 2) / 3.0) + 7) / 8 * 8;
      c.activation = Activation::kSilu;
    } else {
      c.activation = f.activation("hidden_act", "gelu");
    }
    const bool qkv_bias = f.boolean("qkv_bias", true);
    c.query_bias = c.key_bias = c.value_bias = qkv_bias;
    // Not HF fields: Meta's constructor arguments, accepted so a config can pin the resampling mode.
    if (f.has("interpolate_offset")) {
      c.interpolate_offset = f.number("interpolate_offset", 0.1);
      c.pos_interp = c.interpolate_offset > 0.0 ? PosInterp::kMeta : PosInterp::kHf;
      if (c.interpolate_offset <= 0.0) c.interpolate_offset = 0.1;
    }
    if (f.boolean("interpolate_antialias", false))
      f.bad("interpolate_antialias", "antialiased position resampling is not supported");
  } else {
    c.patch_size = f.integer("patch_size", 16);
    c.image_size = f.integer("image_size", 224);
    c.layer_norm_eps = f.number("layer_norm_eps", 1e-5);
    c.intermediate_size = f.integer("intermediate_size", 4 * c.hidden_size);
    c.gated_mlp = f.boolean("use_gated_mlp", false) || f.boolean("use_swiglu_ffn", false);
    c.activation = f.activation("hidden_act", "gelu");
    c.query_bias = f.boolean("query_bias", true);
    c.key_bias = f.boolean("key_bias", false);
    c.value_bias = f.boolean("value_bias", true);
    c.proj_bias = f.boolean("proj_bias", true);
    c.mlp_bias = f.boolean("mlp_bias", true);
    c.rope_theta = f.number("rope_theta", 100.0);
    // pos_embed_shift / jitter / rescale are training-time coordinate augmentations; inference ignores them.
  }
  validate(c);
  return c;
}

namespace {

VitConfig dinov2(const char* name, int64_t d, int64_t depth, int64_t heads, bool swiglu = false) {
  VitConfig c;
  c.kind = BackboneKind::kDinov2;
  c.name = name;
  c.hidden_size = d;
  c.num_layers = depth;
  c.num_heads = heads;
  c.intermediate_size = 4 * d;
  c.patch_size = 14;
  c.image_size = 518;
  c.layer_norm_eps = 1e-6;
  if (swiglu) {
    c.gated_mlp = true;
    c.activation = Activation::kSilu;
    c.intermediate_size =
        (static_cast<int64_t>(static_cast<double>(c.intermediate_size * 2) / 3.0) + 7) / 8 * 8;
  }
  return c;
}

VitConfig dinov3(const char* name, int64_t d, int64_t depth, int64_t heads, double eps, bool gated = false) {
  VitConfig c;
  c.kind = BackboneKind::kDinov3;
  c.name = name;
  c.hidden_size = d;
  c.num_layers = depth;
  c.num_heads = heads;
  c.intermediate_size = 4 * d;
  c.patch_size = 16;
  c.image_size = 224;
  c.layer_norm_eps = eps;
  c.num_register_tokens = 4;
  c.key_bias = false;
  c.rope_theta = 100.0;
  if (gated) {
    c.gated_mlp = true;
    c.activation = Activation::kSilu;
  }
  return c;
}

std::vector<VitConfig> all_presets() {
  return {
      dinov2("dinov2-tiny", 192, 4, 3),
      dinov2("dinov2-s14", 384, 12, 6),
      dinov2("dinov2-b14", 768, 12, 12),
      dinov2("dinov2-l14", 1024, 24, 16),
      dinov2("dinov2-g14", 1536, 40, 24, /*swiglu=*/true),
      // The oracle's tiny DINOv3 uses plain LayerNorm (eps 1e-6); the released models use eps 1e-5.
      dinov3("dinov3-tiny", 192, 4, 3, 1e-6),
      dinov3("dinov3-s16", 384, 12, 6, 1e-5),
      dinov3("dinov3-s16plus", 384, 12, 6, 1e-5, /*gated=*/true),  // SwiGLU width 1536 (ffn_ratio 6)
      dinov3("dinov3-b16", 768, 12, 12, 1e-5),
      dinov3("dinov3-l16", 1024, 24, 16, 1e-5),
  };
}

}  // namespace

VitConfig preset(const std::string& name) {
  for (const auto& c : all_presets()) {
    if (c.name == name) return c;
  }
  std::string known;
  for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError("unknown backbone preset '" + name + "' (known: " + known + ")");
}

std::vector<std::string> preset_names() {
  std::vector<std::string> out;
  for (const auto& c : all_presets()) out.push_back(c.name);
  return out;
}

}  // namespace amt::model
