// The AMT model configuration (configs/*.yaml): backbone preset, image limits and the widths of every head.
// Upstream's dimensions are in configs/upstream.yaml (docs/upstream.md A1.0).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "reference/model/vit_config.hpp"

namespace amt::model {

struct HandHeadConfig {
  int64_t hidden = 512;      // joint_head hidden width
  int64_t aux_hidden = 256;  // confidence / shape heads
  double init_depth = 0.6;   // metres: z of the joint anchor at init (see docs/deviations.md)
  // > 0: the input is a hand crop whose side spans about this many metres at the hand; the hand and object
  // anchors then sit on the ray through the crop's centre (precision::crop_ray_offset). 0: whole images.
  double crop_box_m = 0.0;
};

struct ObjectDecoderConfig {
  int64_t queries = 10;
  int64_t layers = 4;
  int64_t heads = 8;
  int64_t ff = 4096;
  int64_t classes = 100;
  int64_t head_hidden = 512;
};

struct ContactDecoderConfig {
  int64_t hidden = 512;
  int64_t points = 10;
  int64_t layers = 3;
  int64_t heads = 8;
  int64_t ff = 1024;
  int64_t interaction_hidden = 256;
};

struct RefinementConfig {
  int64_t feature_dim = 256;
  int64_t hidden = 512;
  int64_t steps = 2;
  double min_depth = 0.1;  // metres: points at or behind this depth sample zeros
};

struct AmtConfig {
  std::string name;           // the config's name (or file)
  VitConfig backbone;         // from a vit_config preset, with overrides
  int64_t max_side = 224;     // DynamicResize max side for this config
  int64_t token_shuffle = 1;  // token projector factor s (1 = no projector)
  double dropout = 0.1;
  int64_t fusion_heads = 8;
  HandHeadConfig hand;
  ObjectDecoderConfig object;
  ContactDecoderConfig contact;
  RefinementConfig refinement;

  int64_t dim() const { return backbone.hidden_size; }
};

// Parses YAML text; `source` names the file in errors. Unknown keys, wrong types and impossible values throw
// amt::ConfigError naming `source` and the key ("model.object.heads").
AmtConfig parse_amt_config(const std::string& yaml_text, const std::string& source);
// Reads a file.
AmtConfig load_amt_config_file(const std::string& path);
// NAME → configs/NAME.yaml (or NAME itself when it is a path to an existing file). Searched in
// $AMT_CONFIG_DIR, ./configs, then configs/ above the running executable's folder (the source tree when the
// build folder sits inside it). amt::ConfigError listing the places looked in when none exists.
std::string find_amt_config(const std::string& name);
AmtConfig load_amt_config(const std::string& name);
// The config names the project ships (tiny, small, base, large, upstream).
std::vector<std::string> amt_config_names();

}  // namespace amt::model
