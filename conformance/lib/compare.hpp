// Tensor comparison with torch.testing.assert_close semantics, plus the error statistics a
// precision harness reports (worst element, NMSE, relative L2, minimum cosine).
//
// Pass rule, element-wise: |actual − expected| ≤ atol + rtol·|expected|.
// Default tolerances are the loosest over the two dtypes (DESIGN.md §10):
//   fp16 1e-3/1e-5, bf16 1.6e-2/1e-5, fp32 1.3e-6/1e-5, fp64 1e-7/1e-7; integer and bool dtypes 0/0.
// NaN: equal only when both are NaN and equal_nan is set. ±Inf: must match exactly (same sign).
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
// Default (rtol, atol) for comparing tensors of these two dtypes: the loosest of the two.
Tolerance default_tolerance(torch::ScalarType a, torch::ScalarType b);

struct CloseOptions {
  std::optional<double> rtol;  // give both or neither (as assert_close); one alone throws amt::Error
  std::optional<double> atol;
  bool equal_nan = false;
  bool check_dtype = true;     // dtypes must be equal
  int64_t cosine_dim = -1;     // min cosine is taken over vectors along this dim (−1 = last dim)
  std::string name;            // what is compared, for the message ("patch tokens", "hand_joints", ...)
};

struct CloseResult {
  bool ok = false;
  std::string name;
  std::string failure;             // "" when ok; otherwise why (shape, dtype, NaN/Inf, values)
  std::vector<int64_t> shape;
  torch::ScalarType actual_dtype = torch::kFloat;
  torch::ScalarType expected_dtype = torch::kFloat;
  double rtol = 0.0, atol = 0.0;   // the tolerances actually used
  int64_t numel = 0;
  int64_t mismatches = 0;          // elements failing the pass rule (NaN/Inf mismatches included)
  // The worst element: the one with the largest excess |a−e| − (atol + rtol·|e|) (so it is the worst
  // under the rule, not merely the largest absolute difference). Empty index when numel == 0.
  std::vector<int64_t> worst_index;
  double worst_actual = 0.0, worst_expected = 0.0, worst_abs = 0.0, worst_rel = 0.0;
  double max_abs = 0.0;            // max |a−e| over finite pairs
  double max_rel = 0.0;            // max |a−e|/|e| over finite pairs with e ≠ 0
  double nmse = 0.0;               // Σ(a−e)² / Σe²  (ggml's metric; 0 when both are all zero)
  double rel_l2 = 0.0;             // sqrt(nmse)
  double min_cosine = 1.0;         // min over vectors along cosine_dim (1 when a vector pair is all zero)

  std::string message() const;     // multi-line, readable, names the worst element; also useful when ok
};

// Compares in float64 on the CPU; never throws for value differences, only for misuse (one tolerance alone).
CloseResult compare_close(const torch::Tensor& actual, const torch::Tensor& expected, const CloseOptions& options = {});

}  // namespace amt::conformance
