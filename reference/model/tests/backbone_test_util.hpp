// Helpers shared by the backbone tests: running a backbone the way callers do (conform → forward under
// no-grad) and the error statistics the acceptance criteria are stated in.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

#include "reference/model/backbone.hpp"
#include "reference/model/weights_loader.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/policy.hpp"

namespace amt::model::testing {

using precision::PolicyKind;
using precision::PrecisionPolicy;

inline PrecisionPolicy policy_of(PolicyKind kind) {
  return PrecisionPolicy(kind);
}

inline BackboneOutput run_backbone(Backbone& backbone, const torch::Tensor& pixels,
                                   const PrecisionPolicy& policy) {
  torch::NoGradGuard no_grad;
  return backbone.forward(precision::conform_image(pixels, policy, "pixel_values"), policy);
}

struct Stats {
  double max_abs = 0;  // max |a − e|
  double rel_l2 = 0;   // ‖a − e‖ / ‖e‖
  double min_cos = 1;  // min over tokens (vectors along the last dim) of cos(a, e)
};

inline Stats stats(const torch::Tensor& actual, const torch::Tensor& expected) {
  const torch::Tensor a = actual.to(torch::kDouble).reshape({-1, actual.size(-1)});
  const torch::Tensor e = expected.to(torch::kDouble).reshape({-1, expected.size(-1)});
  Stats s;
  const torch::Tensor diff = a - e;
  s.max_abs = diff.abs().max().item<double>();
  s.rel_l2 = (diff.norm() / e.norm()).item<double>();
  const torch::Tensor cos = (a * e).sum(-1) / (a.norm(2, -1) * e.norm(2, -1)).clamp_min(1e-300);
  s.min_cos = cos.min().item<double>();
  return s;
}

inline std::string describe(const Stats& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "max_abs %.3e  relL2 %.3e  min_cos %.8f", s.max_abs, s.rel_l2, s.min_cos);
  return buf;
}

// Oracle-weights backbone with the policy's parameter dtype.
inline std::shared_ptr<Backbone> oracle_backbone(const std::string& weights, BackboneKind kind,
                                                 PosInterp interp, const PrecisionPolicy& policy) {
  BackboneLoadOptions opt;
  opt.kind = kind;
  opt.pos_interp = interp;
  return load_backbone(weights, opt, policy);
}

}  // namespace amt::model::testing
