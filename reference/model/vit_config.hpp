// Architecture of a DINOv2 / DINOv3 vision transformer, as HuggingFace's Dinov2Config / DINOv3ViTConfig
// describe it (docs/upstream.md VP4-VP5), plus the named presets the project uses.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace amt::model {

enum class BackboneKind { kDinov2, kDinov3 };
const char* backbone_kind_name(BackboneKind kind);          // "dinov2" / "dinov3"
BackboneKind parse_backbone_kind(const std::string& name);  // "dinov2" | "dinov3"; else amt::ConfigError

// DINOv2 position-table resampling for grids other than the native one (docs/upstream.md O2).
//   kHf:   bicubic to an explicit output size (h, w)            — HF Dinov2Embeddings, interpolate_offset 0
//   kMeta: bicubic with scale factors ((h+off)/M, (w+off)/M)    — Meta's DinoVisionTransformer, offset 0.1
enum class PosInterp { kHf, kMeta };
const char* pos_interp_name(PosInterp mode);          // "hf" / "meta"
PosInterp parse_pos_interp(const std::string& name);  // "hf" | "meta"; else amt::ConfigError

enum class Activation { kGelu, kSilu };  // kGelu is the exact (erf) GELU, as HF's "gelu"

struct VitConfig {
  BackboneKind kind = BackboneKind::kDinov2;
  std::string name;  // preset name, or where the config came from

  int64_t hidden_size = 192;
  int64_t num_layers = 4;
  int64_t num_heads = 3;
  // Width of the MLP's hidden layer. For a gated/SwiGLU MLP it is the width of each branch.
  int64_t intermediate_size = 768;
  int64_t patch_size = 14;
  int64_t num_channels = 3;
  int64_t image_size = 518;  // DINOv2: the position table covers (image_size/patch)^2 patches
  double layer_norm_eps = 1e-6;
  double layerscale_value = 1.0;  // LayerScale init (checkpoints carry trained values)
  Activation activation = Activation::kGelu;
  // DINOv2: SwiGLU with one fused input projection (`weights_in`/`weights_out`, HF use_swiglu_ffn, giant).
  // DINOv3: gated MLP `down(act(gate(x)) * up(x))` (HF use_gated_mlp, S/16+ and H/16+).
  bool gated_mlp = false;
  int64_t num_register_tokens = 0;

  // Biases. DINOv2 has them all (HF qkv_bias covers q, k and v); DINOv3 has no key bias.
  bool query_bias = true, key_bias = true, value_bias = true, proj_bias = true, mlp_bias = true;

  // DINOv2 only.
  PosInterp pos_interp = PosInterp::kHf;
  double interpolate_offset = 0.1;  // used by kMeta only

  // DINOv3 only.
  double rope_theta = 100.0;

  int64_t head_dim() const { return hidden_size / num_heads; }
  int64_t pos_table_side() const { return image_size / patch_size; }  // M (DINOv2)
};

// Throws amt::ConfigError (naming cfg.name) when the fields cannot describe a model.
void validate(const VitConfig& cfg);

// Parses an HF config.json text (Dinov2Config, Dinov2WithRegistersConfig or DINOv3ViTConfig). The model
// family comes from `model_type` ("dinov2", "dinov2_with_registers", "dinov3_vit"); `expected`, when given,
// must agree with it. Reads both `use_swiglu_ffn` (older) and `use_gated_mlp` (newer). Fields HF uses only
// for training or other heads are ignored; a field with the wrong JSON type, an unsupported activation or
// inconsistent sizes throw amt::ConfigError naming `source` and the field.
VitConfig parse_hf_config(const std::string& json_text, const std::string& source,
                          const BackboneKind* expected = nullptr);

// Named presets: dinov2-{tiny,s14,b14,l14,g14}, dinov3-{tiny,s16,s16plus,b16,l16}. "tiny" is the shape of
// shared/oracle's models (D 192, depth 4, 3 heads). Unknown names throw amt::ConfigError listing the known
// ones.
VitConfig preset(const std::string& name);
std::vector<std::string> preset_names();

}  // namespace amt::model
