#include "conformance/lib/outcome.hpp"

#include <torch/torch.h>

#include <cstdio>

#include "conformance/lib/budgets.hpp"
#include "conformance/lib/compare.hpp"
#include "reference/train/rotation.hpp"

namespace amt::conformance {

std::string format_value(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::string Check::line() const {
  std::string s = name + " ";
  if (structural()) {
    s += ok() ? "ok" : "FAILED";
    s += " (" + quantity + ")";
  } else {
    s += format_value(value) + " " + unit + (ok() ? " <= " : " > ") + format_value(limit) + " " + unit +
         " (" + quantity + "@" + policy + ")";
  }
  if (!detail.empty()) s += "; " + detail;
  return s;
}

bool Outcome::ok() const {
  return first_failure() == nullptr;
}

const Check* Outcome::first_failure() const {
  for (const Check& c : checks) {
    if (!c.ok()) return &c;
  }
  return nullptr;
}

std::string Outcome::summary() const {
  const Check* f = first_failure();
  return f ? f->line() : "ok (" + std::to_string(checks.size()) + " checks)";
}

void Outcome::budget_check(const std::string& name, const std::string& quantity, const std::string& policy,
                           double value, const std::string& detail) {
  const Budget& b = budget(quantity, policy);
  // NaN never passes.
  const double v = std::isnan(value) ? std::numeric_limits<double>::infinity() : value;
  checks.push_back({name, quantity, b.policy, v, b.limit, b.unit, detail});
}

void Outcome::require(bool ok, const std::string& name, const std::string& quantity,
                      const std::string& detail) {
  checks.push_back({name, quantity, "any", ok ? 0.0 : 1.0, 0.0, "", ok ? "" : detail});
}

namespace {
// compare_close with zero tolerances, so its "worst" element is the one with the largest |Δ|.
CloseResult exact_close(const torch::Tensor& actual, const torch::Tensor& expected) {
  CloseOptions o;
  o.rtol = 0.0;
  o.atol = 0.0;
  o.check_dtype = false;
  return compare_close(actual, expected, o);
}

std::string describe_worst(const CloseResult& r) {
  if (r.worst_index.empty()) return "no elements";
  return "worst element " + format_index(r.worst_index) + ": got " + format_value(r.worst_actual) + " want " +
         format_value(r.worst_expected) + " abs " + format_value(r.worst_abs) + " rel " +
         format_value(r.worst_rel) + "; NMSE " + format_value(r.nmse) + ", min cosine " +
         format_value(r.min_cosine);
}
}  // namespace

std::string worst_element(const torch::Tensor& actual, const torch::Tensor& expected) {
  return describe_worst(exact_close(actual, expected));
}

namespace {
torch::Tensor f64(const torch::Tensor& t) {
  return t.detach().to(torch::kCPU, torch::kDouble);
}
}  // namespace

Measure point_error(const torch::Tensor& actual, const torch::Tensor& expected, double scale) {
  if (actual.numel() == 0) return {0.0, "no points"};
  const torch::Tensor d = (f64(actual) - f64(expected)).norm(2, -1) * scale;
  const double v = d.max().item<double>();
  return {v, worst_element(actual, expected)};
}

Measure rotation_error_deg(const torch::Tensor& actual6d, const torch::Tensor& expected6d) {
  if (actual6d.numel() == 0) return {0.0, "no rotations"};
  const torch::Tensor a = f64(actual6d), e = f64(expected6d);
  const torch::Tensor Ra = train::rotation_6d_to_matrix(a);
  const torch::Tensor Re = train::rotation_6d_to_matrix(e);
  // acos of the clamped cosine; geodesic_angle clamps at 1 − 1e-7, which would floor the angle at 0.026°.
  const torch::Tensor tr = torch::matmul(Ra.transpose(-1, -2), Re).diagonal(0, -2, -1).sum(-1);
  torch::Tensor angle = torch::acos(((tr - 1.0) / 2.0).clamp(-1.0, 1.0)) * (180.0 / M_PI);
  // Gram–Schmidt amplifies an error in the 6-D vector by 1/sin of the angle between its two halves (and by
  // 1/norm): an untrained head's nearly parallel or tiny halves would turn bf16 rounding into tens of
  // degrees. Degrees are measured where the representation is well conditioned (sin ≥ 0.5 and both halves at
  // least half the tensor's RMS half norm); the raw 6-D vector is checked by relative L2 everywhere
  // (head_rel_l2).
  const torch::Tensor a1 = e.narrow(-1, 0, 3), a2 = e.narrow(-1, 3, 3);
  const torch::Tensor n1 = a1.norm(2, -1), n2 = a2.norm(2, -1);
  const torch::Tensor sin = torch::linalg_cross(a1, a2, -1).norm(2, -1) / (n1 * n2).clamp_min(1e-30);
  const double scale = torch::cat({n1.flatten(), n2.flatten()}).pow(2).mean().sqrt().item<double>();
  const torch::Tensor ok = (sin >= 0.5) & (n1 >= 0.5 * scale) & (n2 >= 0.5 * scale);
  const int64_t kept = ok.sum().item<int64_t>(), all = ok.numel();
  angle = torch::where(ok, angle, torch::zeros_like(angle));
  return {angle.max().item<double>(), std::to_string(kept) + " of " + std::to_string(all) +
                                          " rotations well conditioned; " +
                                          worst_element(actual6d, expected6d)};
}

Measure rel_l2(const torch::Tensor& actual, const torch::Tensor& expected) {
  const CloseResult r = exact_close(actual, expected);
  // compare_close leaves non-finite pairs out of its statistics; here one of them is an infinite error.
  const double v = r.nonfinite_mismatches > 0 ? std::numeric_limits<double>::infinity() : r.rel_l2;
  return {v, describe_worst(r)};
}

Measure cosine_deficit(const torch::Tensor& actual, const torch::Tensor& expected) {
  const CloseResult r = exact_close(actual, expected);
  return {1.0 - r.min_cosine, describe_worst(r)};
}

Measure relative_scalar(const torch::Tensor& actual, const torch::Tensor& expected) {
  const double a = f64(actual).sum().item<double>(), e = f64(expected).sum().item<double>();
  return {std::abs(a - e) / std::max(std::abs(e), 1e-3),
          "got " + format_value(a) + " want " + format_value(e)};
}

}  // namespace amt::conformance
