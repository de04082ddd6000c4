// Tensor comparison with torch.testing.assert_close semantics, plus the error statistics a
// precision harness reports (worst element, NMSE, relative L2, minimum cosine).
//
// Pass rule, element-wise: |actual − expected| ≤ atol + rtol·|expected|.
// Default tolerances are the loosest over the two dtypes (docs/design.md §10):
//   fp16 1e-3/1e-5, bf16 1.6e-2/1e-5, fp32 1.3e-6/1e-5, fp64 1e-7/1e-7; integer and bool dtypes 0/0.
// NaN: equal only when both are NaN and equal_nan is set. ±Inf: must match exactly (same sign).
//
// Checks run in PyTorch's order: shape, then dtype (if check_dtype), then values. A shape or dtype
// mismatch gives ok == false with `failure` set and leaves every value statistic at its default.
// Values are compared in float64 on the CPU whatever the inputs (int64 beyond 2^53 loses exactness).
#pragma once
#include <torch/types.h>

#include <optional>
#include <string>
#include <vector>

namespace amt::conformance {

struct Tolerance {
  double rtol = 0.0;
  double atol = 0.0;
};
// Default (rtol, atol) for comparing tensors of these two dtypes: the loosest of the two, each taken
// separately (as PyTorch's default_tolerances). Complex dtypes get their component's tolerances.
[[nodiscard]] Tolerance default_tolerance(torch::ScalarType a, torch::ScalarType b);

struct CloseOptions {
  std::optional<double> rtol;  // give both or neither (as assert_close); one alone throws amt::Error
  std::optional<double> atol;
  bool equal_nan = false;
  bool check_dtype = true;  // dtypes must be equal
  int64_t cosine_dim = -1;  // min cosine is taken over vectors along this dim (−1 = last dim)
  std::string name;         // what is compared, for the message ("patch tokens", "hand_joints", ...)
};

struct CloseResult {
  bool ok = false;
  std::string name;
  std::string failure;                // "" when ok; otherwise why (shape, dtype, NaN/Inf, values)
  std::vector<int64_t> shape;         // the expected tensor's shape
  std::vector<int64_t> actual_shape;  // the actual tensor's shape (differs from `shape` on a shape mismatch)
  torch::ScalarType actual_dtype = torch::kFloat;
  torch::ScalarType expected_dtype = torch::kFloat;
  double rtol = 0.0, atol = 0.0;     // the tolerances actually used
  int64_t cosine_dim = -1;           // the cosine dim as requested (before wrapping), for the message
  int64_t numel = 0;                 // elements compared (0 when shape or dtype differ)
  int64_t mismatches = 0;            // elements failing the pass rule (NaN/Inf mismatches included)
  int64_t nonfinite_mismatches = 0;  // of those, the ones where either side is NaN or ±Inf
  // The worst element: the one with the largest excess |a−e| − (atol + rtol·|e|) (so it is the worst
  // under the rule, not merely the largest absolute difference). Empty index when numel == 0.
  // A NaN/Inf mismatch counts as an infinite excess (the first such element is the worst); when all
  // elements pass it is the one that came closest to failing.
  std::vector<int64_t> worst_index;
  double worst_actual = 0.0, worst_expected = 0.0, worst_abs = 0.0, worst_rel = 0.0;
  double worst_allowed = 0.0;          // atol + rtol·|worst_expected|
  double max_abs = 0.0;                // max |a−e| over finite pairs
  double max_rel = 0.0;                // max |a−e|/|e| over finite pairs with e ≠ 0
  std::vector<int64_t> max_abs_index;  // where max_abs occurs (first occurrence); empty if no finite pair
  std::vector<int64_t> max_rel_index;  // where max_rel occurs; empty if no finite pair with e ≠ 0
  double nmse = 0.0;    // Σ(a−e)² / Σe² over finite pairs (ggml's metric; 0 when both are all zero,
                        // +inf when e is all zero and a is not)
  double rel_l2 = 0.0;  // sqrt(nmse)
  // Min over vectors along cosine_dim (1 when a vector pair is all zero, 0 when exactly one of them is).
  // Non-finite pairs are left out of the vectors, as they are from the other statistics.
  double min_cosine = 1.0;

  // Multi-line, readable, names the worst element; a one-line summary when ok. Its "Greatest
  // absolute/relative difference" lines are max_abs/max_rel over all finite pairs (PyTorch's are over
  // mismatches only); the "Worst element under the rule" line is the one to read for the failure.
  [[nodiscard]] std::string message() const;
};

// Compares in float64 on the CPU; never throws for value differences, only for misuse: one tolerance
// alone, a negative or NaN tolerance, a cosine_dim out of range for equal shapes (amt::ConfigError); complex
// or non-strided (sparse, mkldnn) tensors (amt::UnsupportedError). Two undefined tensors compare equal; one
// undefined tensor is a failure (ok == false), not an exception.
[[nodiscard]] CloseResult compare_close(const torch::Tensor& actual, const torch::Tensor& expected,
                                        const CloseOptions& options = {});

// "(1, 4, 2)"; "()" for a 0-d index. The form PyTorch's messages use.
[[nodiscard]] std::string format_index(const std::vector<int64_t>& index);
// "[2, 3]"; "[]" for 0-d.
[[nodiscard]] std::string format_shape(const std::vector<int64_t>& shape);
// Multi-index of a row-major flat index into `shape` (empty for 0-d).
[[nodiscard]] std::vector<int64_t> unravel_index(int64_t flat, const std::vector<int64_t>& shape);

}  // namespace amt::conformance
