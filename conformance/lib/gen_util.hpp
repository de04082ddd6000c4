// Generator pieces the property families share (RapidCheck). Each draws one field of a Case; shrinking moves
// toward the first element / the lower bound, i.e. toward fp32, batch 1, the smallest grid.
#pragma once
#include <rapidcheck.h>

#include "conformance/lib/case.hpp"
#include "conformance/lib/case_model.hpp"
#include "conformance/lib/properties.hpp"
#include "reference/precision/policy.hpp"

namespace amt::conformance {

// A policy this build runs on the CPU (fp16 ones are refused, P3), or the one the options fix.
inline std::string draw_policy(const GenOptions& o) {
  if (!o.policy.empty()) return o.policy;
  return *rc::gen::element<std::string>("fp32", "bf16-autocast", "bf16-pure", "fp64");
}
inline std::string draw_low_precision_policy(const GenOptions& o) {
  if (!o.policy.empty()) return o.policy;
  return *rc::gen::element<std::string>("fp32", "bf16-autocast", "bf16-pure");
}
inline torch::ScalarType draw_float_dtype() {
  return *rc::gen::element(torch::kFloat, torch::kHalf, torch::kBFloat16, torch::kDouble);
}
inline torch::ScalarType draw_image_dtype() {
  return *rc::gen::element(torch::kFloat, torch::kByte, torch::kHalf, torch::kBFloat16, torch::kDouble);
}
inline uint64_t draw_seed() {
  return *rc::gen::inRange<uint64_t>(0, 1u << 20);
}
// The model variant and a rectangular image whose sides are multiples of patch·shuffle: up to `max_cells`
// cells of (patch·shuffle) pixels per side.
inline void draw_model_and_grid(Case& c, const GenOptions& o, int64_t max_cells_h, int64_t max_cells_w) {
  c.config = o.config;
  c.backbone = *rc::gen::elementOf(backbone_variants(c.config));
  c.shuffle = *rc::gen::element<int64_t>(1, 2);
  const int64_t q = case_side_quantum(c);
  c.height = q * *rc::gen::inRange<int64_t>(1, max_cells_h + 1);
  c.width = q * *rc::gen::inRange<int64_t>(1, max_cells_w + 1);
}

}  // namespace amt::conformance
