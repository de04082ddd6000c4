// A conformance case: everything needed to rebuild one property input exactly — the property it belongs to,
// the model variant, the precision policy, input dtypes, batch, image size and the seed of every random
// tensor. Generators (RapidCheck) draw cases, never tensor elements; a case is written to JSON for replay
// files and read back bit for bit.
#pragma once
#include <torch/types.h>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>

#include "reference/core/tensor_map.hpp"

namespace amt::conformance {

struct Case {
  std::string property;                // the property table row this case belongs to
  std::string config = "tiny";         // configs/NAME.yaml
  std::string backbone = "dinov2-hf";  // dinov2-hf | dinov2-meta | dinov3 (the tiny preset of that family)
  int64_t shuffle = 1;                 // token projector factor (1 = off)
  std::string policy = "fp32";
  torch::ScalarType image_dtype = torch::kFloat;  // kByte for uint8 images
  torch::ScalarType k_dtype = torch::kFloat;
  bool with_e = false;
  torch::ScalarType e_dtype = torch::kFloat;
  torch::ScalarType label_dtype = torch::kFloat;
  int64_t batch = 1;
  int64_t height = 0, width = 0;  // model input (multiples of patch·shuffle), or a source size (resize)
  int64_t max_side = 0;           // resize properties: DynamicResize max side
  bool allow_upscale = true;      // resize properties: DynamicResize's allow_upscale
  uint64_t seed = 0;              // every random tensor of the case
};

// "u8", "f16", "bf16", "f32", "f64"; other dtypes throw amt::ConfigError.
std::string dtype_short_name(torch::ScalarType dt);
torch::ScalarType parse_dtype_short_name(const std::string& name);

nlohmann::json case_to_json(const Case& c);
// Every field is required; a missing or mistyped one throws amt::FormatError naming `source` and the field.
Case case_from_json(const nlohmann::json& j, const std::string& source);
// One line: "dtype_mix.forward tiny/dinov2-hf s=1 bf16-pure B=2 56x84 image=u8 K=f16 E=- labels=f32 seed=7".
std::string describe(const Case& c);
// RapidCheck prints counterexamples with operator<<: the describe() line.
std::ostream& operator<<(std::ostream& os, const Case& c);

// The model input for a case: image [B,3,H,W] in image_dtype (uint8 0..255, or normalised ~N(0,1) floats), a
// pinhole K [B,3,3] (f = 1.2·max side, principal point at the centre), E [B,4,4] near identity when with_e,
// and the labels compute_losses reads (joints 0.5–0.7 m in front of the camera, their projections with K, a
// grasped-object pose, object ids with a frame without an object, a frame without a hand at B = 4), labels
// in label_dtype. Deterministic in the case's seed.
TensorMap make_case_batch(const Case& c);

}  // namespace amt::conformance
