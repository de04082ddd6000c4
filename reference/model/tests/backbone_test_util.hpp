// Helpers shared by the backbone tests: running a backbone the way callers do (conform → forward under
// no-grad) and the error statistics the acceptance criteria are stated in.
#pragma once
#include <torch/torch.h>

#include <limits>
#include <memory>
#include <string>

#include "conformance/lib/compare.hpp"
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

// Through the one comparison (conformance/lib/compare.hpp, every statistic in one pass); a non-finite
// element or a shape mismatch makes every statistic the worst possible.
inline Stats stats(const torch::Tensor& actual, const torch::Tensor& expected) {
  conformance::CloseOptions o;
  o.rtol = 0.0;
  o.atol = 0.0;
  o.check_dtype = false;
  const conformance::CloseResult r = conformance::compare_close(actual, expected, o);
  if (r.nonfinite_mismatches > 0 || r.shape != r.actual_shape) {
    const double inf = std::numeric_limits<double>::infinity();
    return {inf, inf, -1.0};
  }
  return {r.max_abs, r.rel_l2, r.min_cosine};
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
