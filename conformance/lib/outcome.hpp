// What one property run on one case found: a list of checks, each a measured value against a limit from the
// budget table (or a structural check: a dtype per the P1/P5 tables, a typed error, an exact identity), and
// the first failing one as a one-line reason ("hand_joints 7.8 mm > 1.0 mm (joints_mm@bf16-pure)").
// Also the task-unit measures the properties share (mm, px, degrees, relative L2, cosine).
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

namespace amt::conformance {

struct Check {
  std::string name;      // what was checked: "hand_joints", "K dtype after the boundary", ...
  std::string quantity;  // the budget quantity ("joints_mm"), or "dtype" / "error" / "exact" for structure
  std::string policy;    // the budget row's policy
  double value = 0.0;    // measured (mismatch count for structural checks)
  double limit = 0.0;    // allowed
  std::string unit;
  std::string detail;  // the worst element, NMSE, cosine; or what mismatched
  bool ok() const { return value <= limit; }
  // A pass/fail check of structure ("dtype", "error", "exact") rather than a measured value against a budget.
  bool structural() const { return quantity == "dtype" || quantity == "error" || quantity == "exact"; }
  std::string line() const;  // "hand_joints 7.8 mm > 1.0 mm (joints_mm@bf16-pure); worst ..."
};

struct Outcome {
  std::vector<Check> checks;
  bool ok() const;
  const Check* first_failure() const;  // nullptr when ok
  std::string summary() const;         // first failure's line, or "ok (N checks)"

  // Appends a budget check: value against budget(quantity, policy).
  void budget_check(const std::string& name, const std::string& quantity, const std::string& policy,
                    double value, const std::string& detail = "");
  // Appends a structural check that passes when `ok` (value 0) and fails with `detail` otherwise (value 1).
  void require(bool ok, const std::string& name, const std::string& quantity, const std::string& detail);
};

// Task-unit errors of `actual` against `expected` (any float dtypes, compared in fp64). Each returns the
// value and fills `detail` with the worst element (index, got, want, abs, rel), NMSE and min cosine.
struct Measure {
  double value = 0.0;
  std::string detail;
};
// Max Euclidean distance over the last dim (points [...,3]), × scale (1000: metres → mm).
Measure point_error(const torch::Tensor& actual, const torch::Tensor& expected, double scale);
// Max geodesic angle between 6-D rotations [...,6], degrees.
Measure rotation_error_deg(const torch::Tensor& actual6d, const torch::Tensor& expected6d);
Measure rel_l2(const torch::Tensor& actual, const torch::Tensor& expected);
Measure cosine_deficit(const torch::Tensor& actual, const torch::Tensor& expected);  // 1 − min cosine
// |a − e| / max(|e|, 1e-3) for scalars.
Measure relative_scalar(const torch::Tensor& actual, const torch::Tensor& expected);
// Four significant digits ("7.8", "1.2e-05"): how every report of the harness prints a measured value.
std::string format_value(double v);
// The worst-element description compare_close gives (rtol = atol = 0, so "worst" is the largest |Δ|).
std::string worst_element(const torch::Tensor& actual, const torch::Tensor& expected);

}  // namespace amt::conformance
