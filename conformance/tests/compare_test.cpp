// Unit tests for compare_close: every statistic against numbers computed by hand, the default
// tolerance table, the exact boundary of the pass rule, NaN/Inf rules, shape/dtype failures, misuse,
// degenerate tensors and the message text.
#include "conformance/lib/compare.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "reference/core/error.hpp"

namespace amt::conformance {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

torch::Tensor f64(std::vector<double> values, std::vector<int64_t> shape) {
  return torch::tensor(values, torch::kDouble).reshape(shape);
}
torch::Tensor f64(std::vector<double> values) {
  return torch::tensor(values, torch::kDouble);
}

CloseOptions tol(double rtol, double atol) {
  CloseOptions o;
  o.rtol = rtol;
  o.atol = atol;
  return o;
}

using Index = std::vector<int64_t>;

// ---------------------------------------------------------------------------------------------------
// The known 2×3 case. Tolerances rtol 1/8, atol 1/16 are dyadic, so every number below is exact.
//   expected [[1, 2, 4], [0.125, -2, 100]]
//   actual   [[1, 3, 4], [0.375, -2, 110]]
//   |a−e|    [[0, 1, 0], [0.25,   0,  10]]
//   allowed  [[0.1875, 0.3125, 0.5625], [0.078125, 0.3125, 12.5625]]
//   excess   [[−0.1875, 0.6875, −0.5625], [0.171875, −0.3125, −2.5625]]
// → mismatches (0,1) and (1,0); worst under the rule (0,1) although the largest |a−e| is at (1,2)
//   (which passes), and the largest relative difference (2) is at (1,0).
struct Known {
  torch::Tensor expected = f64({1, 2, 4, 0.125, -2, 100}, {2, 3});
  torch::Tensor actual = f64({1, 3, 4, 0.375, -2, 110}, {2, 3});
  CloseOptions options = [] {
    CloseOptions o = tol(0.125, 0.0625);
    o.name = "hand_joints";
    return o;
  }();
};

TEST(CompareKnown, MismatchCountAndWorstElementUnderTheRule) {
  Known k;
  const CloseResult r = compare_close(k.actual, k.expected, k.options);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.numel, 6);
  EXPECT_EQ(r.mismatches, 2);
  EXPECT_EQ(r.nonfinite_mismatches, 0);
  EXPECT_EQ(r.worst_index, (Index{0, 1}));
  EXPECT_EQ(r.worst_actual, 3.0);
  EXPECT_EQ(r.worst_expected, 2.0);
  EXPECT_EQ(r.worst_abs, 1.0);
  EXPECT_EQ(r.worst_rel, 0.5);
  EXPECT_EQ(r.worst_allowed, 0.3125);
  EXPECT_EQ(r.rtol, 0.125);
  EXPECT_EQ(r.atol, 0.0625);
  EXPECT_EQ(r.name, "hand_joints");
  EXPECT_EQ(r.shape, (Index{2, 3}));
  EXPECT_EQ(r.actual_shape, (Index{2, 3}));
  EXPECT_EQ(r.failure, "2 / 6 elements not close");
}

TEST(CompareKnown, MaxAbsAndMaxRelWithTheirIndices) {
  Known k;
  const CloseResult r = compare_close(k.actual, k.expected, k.options);
  EXPECT_EQ(r.max_abs, 10.0);
  EXPECT_EQ(r.max_abs_index, (Index{1, 2}));
  EXPECT_EQ(r.max_rel, 2.0);  // 0.25 / 0.125
  EXPECT_EQ(r.max_rel_index, (Index{1, 0}));
}

TEST(CompareKnown, NmseAndRelativeL2) {
  Known k;
  const CloseResult r = compare_close(k.actual, k.expected, k.options);
  // Σ(a−e)² = 1 + 0.0625 + 100; Σe² = 1 + 4 + 16 + 0.015625 + 4 + 10000.
  const double nmse = 101.0625 / 10025.015625;
  EXPECT_DOUBLE_EQ(r.nmse, nmse);
  EXPECT_DOUBLE_EQ(r.rel_l2, std::sqrt(nmse));
}

TEST(CompareKnown, MinCosineAlongLastDimIsRowZero) {
  Known k;
  const CloseResult r = compare_close(k.actual, k.expected, k.options);
  // Row 0: a·e = 1 + 6 + 16 = 23, |a|² = 26, |e|² = 21. Row 1 is ≈ 0.99998.
  EXPECT_NEAR(r.min_cosine, 23.0 / std::sqrt(26.0 * 21.0), 1e-15);
  EXPECT_EQ(r.cosine_dim, -1);
  CloseOptions o = k.options;
  o.cosine_dim = 1;  // the same dim spelled positively
  EXPECT_NEAR(compare_close(k.actual, k.expected, o).min_cosine, 23.0 / std::sqrt(546.0), 1e-15);
}

TEST(CompareKnown, MinCosineAlongDimZeroIsColumnZero) {
  Known k;
  CloseOptions o = k.options;
  o.cosine_dim = 0;
  const CloseResult r = compare_close(k.actual, k.expected, o);
  // Column 0: a = (1, 0.375), e = (1, 0.125): a·e = 1.046875, |a|² = 1.140625, |e|² = 1.015625 (≈ 0.9727);
  // column 1: 10 / sqrt(13·8) ≈ 0.9806; column 2 ≈ 0.99997.
  EXPECT_NEAR(r.min_cosine, 1.046875 / std::sqrt(1.140625 * 1.015625), 1e-15);
  o.cosine_dim = -2;
  EXPECT_NEAR(compare_close(k.actual, k.expected, o).min_cosine, 1.046875 / std::sqrt(1.140625 * 1.015625),
              1e-15);
}

TEST(CompareKnown, MessageNamesEverything) {
  Known k;
  const std::string m = compare_close(k.actual, k.expected, k.options).message();
  EXPECT_THAT(m, HasSubstr("hand_joints: tensor-likes are not close!\n"));
  EXPECT_THAT(m, HasSubstr("Mismatched elements: 2 / 6 (33.3%)\n"));
  EXPECT_THAT(m, HasSubstr("Greatest absolute difference: 10 at index (1, 2) (up to 0.0625 allowed)\n"));
  EXPECT_THAT(m, HasSubstr("Greatest relative difference: 2 at index (1, 0) (up to 0.125 allowed)\n"));
  EXPECT_THAT(m, HasSubstr("Worst element under the rule: index (0, 1): actual 3, expected 2, abs 1, rel 0.5 "
                           "(allowed 0.3125)\n"));
  EXPECT_THAT(m, HasSubstr("NMSE 0.010081, relative L2 0.100404"));
  EXPECT_THAT(m, HasSubstr("min cosine 0.984"));
  EXPECT_THAT(m, HasSubstr("(dim -1)"));
  EXPECT_THAT(m, HasSubstr("rtol 0.125, atol 0.0625; dtypes Double vs Double"));
}

TEST(CompareKnown, PassingResultReportsHowCloseItCame) {
  Known k;
  const CloseResult r = compare_close(k.actual, k.expected, tol(0.125, 1.0));
  // allowed = 1 + |e|/8: excess (0,1) = 1 − 1.25 = −0.25 is the largest (closest to failing).
  ASSERT_TRUE(r.ok) << r.message();
  EXPECT_EQ(r.mismatches, 0);
  EXPECT_EQ(r.failure, "");
  EXPECT_EQ(r.worst_index, (Index{0, 1}));
  EXPECT_EQ(r.worst_abs, 1.0);
  EXPECT_EQ(r.worst_allowed, 1.25);
  const std::string m = r.message();
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  EXPECT_THAT(m, HasSubstr("close ("));
  EXPECT_THAT(m, HasSubstr("max abs 10"));
  EXPECT_THAT(m, HasSubstr("NMSE 0.010081, relative L2 0.100404"));
  EXPECT_THAT(m, HasSubstr("(0, 1)"));
  EXPECT_THAT(m, Not(HasSubstr("not close")));
}

TEST(CompareIndex, ThreeDimensionalWorstIndexIsUnravelled) {
  const torch::Tensor e = torch::zeros({2, 3, 4}, torch::kFloat);
  torch::Tensor a = e.clone();
  a[1][2][3] = 0.5f;
  a[0][1][2] = 0.25f;
  const CloseResult r = compare_close(a, e);
  EXPECT_EQ(r.mismatches, 2);
  EXPECT_EQ(r.worst_index, (Index{1, 2, 3}));
  EXPECT_EQ(r.max_abs_index, (Index{1, 2, 3}));
  EXPECT_EQ(r.worst_actual, 0.5);
  EXPECT_THAT(r.message(), HasSubstr("index (1, 2, 3)"));
}

TEST(CompareIndex, NonContiguousInputsUseLogicalIndices) {
  // The transposed view's memory order differs from its logical order; indices must be logical.
  const torch::Tensor base = torch::zeros({4, 3}, torch::kDouble);
  torch::Tensor a_base = base.clone();
  a_base[2][1] = 1.0;  // logical (1, 2) of the transpose
  const CloseResult r = compare_close(a_base.t(), base.t());
  EXPECT_EQ(r.worst_index, (Index{1, 2}));
}

TEST(CompareIndex, FormatAndUnravel) {
  EXPECT_EQ(format_index({1, 4, 2}), "(1, 4, 2)");
  EXPECT_EQ(format_index({}), "()");
  EXPECT_EQ(format_shape({2, 3}), "[2, 3]");
  EXPECT_EQ(format_shape({}), "[]");
  EXPECT_EQ(unravel_index(23, {2, 3, 4}), (Index{1, 2, 3}));
  EXPECT_EQ(unravel_index(6, {2, 3, 4}), (Index{0, 1, 2}));
  EXPECT_EQ(unravel_index(0, {}), (Index{}));
}

// ---------------------------------------------------------------------------------------------------
// Default tolerances.

TEST(CompareTolerance, PerDtypeTable) {
  struct Row {
    torch::ScalarType a, b;
    double rtol, atol;
  };
  const Row rows[] = {
      {torch::kHalf, torch::kHalf, 1e-3, 1e-5},
      {torch::kBFloat16, torch::kBFloat16, 1.6e-2, 1e-5},
      {torch::kFloat, torch::kFloat, 1.3e-6, 1e-5},
      {torch::kDouble, torch::kDouble, 1e-7, 1e-7},
      {torch::kLong, torch::kLong, 0.0, 0.0},
      {torch::kInt, torch::kShort, 0.0, 0.0},
      {torch::kBool, torch::kBool, 0.0, 0.0},
      {torch::kByte, torch::kBool, 0.0, 0.0},
      // Mixed: the loosest of each, taken separately.
      {torch::kHalf, torch::kFloat, 1e-3, 1e-5},
      {torch::kBFloat16, torch::kHalf, 1.6e-2, 1e-5},
      {torch::kFloat, torch::kBFloat16, 1.6e-2, 1e-5},
      {torch::kFloat, torch::kDouble, 1.3e-6, 1e-5},
      {torch::kDouble, torch::kFloat, 1.3e-6, 1e-5},
      {torch::kDouble, torch::kHalf, 1e-3, 1e-5},
      // Integer with float: the float's.
      {torch::kLong, torch::kFloat, 1.3e-6, 1e-5},
      {torch::kDouble, torch::kInt, 1e-7, 1e-7},
      {torch::kBool, torch::kBFloat16, 1.6e-2, 1e-5},
      {torch::kHalf, torch::kByte, 1e-3, 1e-5},
  };
  for (const Row& row : rows) {
    const Tolerance t = default_tolerance(row.a, row.b);
    EXPECT_EQ(t.rtol, row.rtol) << row.a << " vs " << row.b;
    EXPECT_EQ(t.atol, row.atol) << row.a << " vs " << row.b;
  }
}

TEST(CompareTolerance, ResultRecordsTheDefaultsUsedForMixedDtypes) {
  CloseOptions o;
  o.check_dtype = false;
  const CloseResult r = compare_close(torch::ones({3}, torch::kLong), torch::ones({3}, torch::kFloat), o);
  EXPECT_TRUE(r.ok) << r.message();
  EXPECT_EQ(r.rtol, 1.3e-6);
  EXPECT_EQ(r.atol, 1e-5);
  EXPECT_EQ(r.actual_dtype, torch::kLong);
  EXPECT_EQ(r.expected_dtype, torch::kFloat);
}

TEST(CompareTolerance, ExplicitTolerancesOverrideTheDefaults) {
  const CloseResult r = compare_close(f64({1.5}), f64({1.0}), tol(0.0, 0.5));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.rtol, 0.0);
  EXPECT_EQ(r.atol, 0.5);
}

// Each low-precision dtype is compared with its own default rule; the values are exact in the dtype.
TEST(CompareTolerance, Bf16DefaultsAppliedToBf16Inputs) {
  const auto bf = [](double v) { return torch::full({1}, v, torch::kBFloat16); };
  // Allowed at e = 1: 1e-5 + 1.6e-2 = 0.01601. bf16's spacing at 1 is 2^-7 = 0.0078125.
  EXPECT_TRUE(compare_close(bf(1.015625), bf(1.0)).ok);         // diff 0.015625
  const CloseResult r = compare_close(bf(1.0234375), bf(1.0));  // diff 0.0234375
  EXPECT_EQ(r.mismatches, 1);
  EXPECT_EQ(r.worst_actual, 1.0234375);  // the bf16 value, read exactly
  EXPECT_EQ(r.worst_abs, 0.0234375);
  EXPECT_THAT(r.message(), HasSubstr("dtypes BFloat16 vs BFloat16"));
}

TEST(CompareTolerance, Fp16DefaultsAppliedToFp16Inputs) {
  const auto h = [](double v) { return torch::full({1}, v, torch::kHalf); };
  // Allowed at e = 1: 1e-5 + 1e-3 = 0.00101. fp16's spacing at 1 is 2^-10 ≈ 0.000977.
  EXPECT_TRUE(compare_close(h(1.0 + 0.0009765625), h(1.0)).ok);
  const CloseResult r = compare_close(h(1.0 + 0.001953125), h(1.0));
  EXPECT_EQ(r.mismatches, 1);
  EXPECT_EQ(r.worst_abs, 0.001953125);
  EXPECT_EQ(r.rtol, 1e-3);
}

TEST(CompareTolerance, Fp32DefaultsAppliedToFp32Inputs) {
  const auto f = [](double v) { return torch::full({1}, v, torch::kFloat); };
  // Allowed at e = 1: 1e-5 + 1.3e-6 = 1.13e-5; fp32 spacing 1.19e-7 is far below the margins used.
  EXPECT_TRUE(compare_close(f(1.0 + 1.0e-5), f(1.0)).ok);
  EXPECT_FALSE(compare_close(f(1.0 + 1.3e-5), f(1.0)).ok);
}

TEST(CompareTolerance, Fp64DefaultsAppliedToFp64Inputs) {
  // Allowed at e = 1: 1e-7 + 1e-7 = 2e-7.
  EXPECT_TRUE(compare_close(f64({1.0 + 1.9e-7}), f64({1.0})).ok);
  const CloseResult r = compare_close(f64({1.0 + 2.1e-7}), f64({1.0}));
  EXPECT_FALSE(r.ok);
  // %.6g would print both as "1"; the message widens the precision until they differ.
  EXPECT_THAT(r.message(), HasSubstr("actual 1.0000002, expected 1,"));
}

TEST(CompareTolerance, BoolAndIntegersCompareExactly) {
  const CloseResult ints =
      compare_close(torch::tensor({1, 2, 3}, torch::kLong), torch::tensor({1, 2, 4}, torch::kLong));
  EXPECT_EQ(ints.mismatches, 1);
  EXPECT_EQ(ints.worst_index, (Index{2}));
  EXPECT_EQ(ints.worst_actual, 3.0);
  EXPECT_EQ(ints.worst_expected, 4.0);
  EXPECT_EQ(ints.rtol, 0.0);
  EXPECT_EQ(ints.atol, 0.0);
  const torch::Tensor t = torch::tensor({true, false, true});
  const torch::Tensor u = torch::tensor({true, true, true});
  const CloseResult bools = compare_close(t, u);
  EXPECT_EQ(bools.mismatches, 1);
  EXPECT_EQ(bools.worst_index, (Index{1}));
  EXPECT_EQ(bools.worst_actual, 0.0);
  EXPECT_EQ(bools.worst_expected, 1.0);
  EXPECT_TRUE(compare_close(t, t.clone()).ok);
}

// ---------------------------------------------------------------------------------------------------
// The exact boundary of the rule: |a − e| = atol + rtol·|e| passes, the next double beyond fails.

TEST(CompareBoundary, ExactlyAtTheTolerancePassesOneUlpBeyondFails) {
  const CloseOptions o = tol(0.25, 0.5);  // allowed at e = 1: 0.75; at e = −2: 1.0
  EXPECT_TRUE(compare_close(f64({1.75}), f64({1.0}), o).ok);
  EXPECT_TRUE(compare_close(f64({0.25}), f64({1.0}), o).ok);
  EXPECT_TRUE(compare_close(f64({-3.0}), f64({-2.0}), o).ok);
  EXPECT_TRUE(compare_close(f64({-1.0}), f64({-2.0}), o).ok);
  const CloseResult at = compare_close(f64({1.75}), f64({1.0}), o);
  EXPECT_EQ(at.worst_abs, at.worst_allowed);

  const CloseResult beyond = compare_close(f64({std::nextafter(1.75, 2.0)}), f64({1.0}), o);
  EXPECT_FALSE(beyond.ok);
  EXPECT_EQ(beyond.mismatches, 1);
  EXPECT_FALSE(compare_close(f64({std::nextafter(-3.0, -4.0)}), f64({-2.0}), o).ok);
  // Below e the next double of a does not change a − e (it rounds back to the bound), so step the
  // difference instead: a = e − next(allowed), exact in binary.
  EXPECT_FALSE(compare_close(f64({1.0 - std::nextafter(0.75, 1.0)}), f64({1.0}), o).ok);
  EXPECT_FALSE(compare_close(f64({-2.0 + std::nextafter(1.0, 2.0)}), f64({-2.0}), o).ok);
}

TEST(CompareBoundary, RelativeTermUsesExpectedNotActual) {
  // With rtol only: allowed = 0.5·|e|. a = 3, e = 2 → diff 1 ≤ 1 passes; a = 2, e = 3 → diff 1 ≤ 1.5 passes;
  // a = 1, e = 0.6 → diff 0.4 > 0.3 fails but would pass if |a| were used (0.5).
  const CloseOptions o = tol(0.5, 0.0);
  EXPECT_TRUE(compare_close(f64({3.0}), f64({2.0}), o).ok);
  EXPECT_FALSE(compare_close(f64({1.0}), f64({0.6}), o).ok);
}

TEST(CompareBoundary, ZeroTolerancesMeanExactEquality) {
  const CloseOptions o = tol(0.0, 0.0);
  EXPECT_TRUE(compare_close(f64({1.0, -0.0}), f64({1.0, 0.0}), o).ok);
  EXPECT_FALSE(compare_close(f64({std::nextafter(1.0, 2.0)}), f64({1.0}), o).ok);
}

// ---------------------------------------------------------------------------------------------------
// NaN and Inf.

TEST(CompareNonFinite, NanEqualsNanOnlyWithEqualNan) {
  const torch::Tensor x = f64({1.0, kNaN});
  const CloseResult off = compare_close(x, x.clone());
  EXPECT_FALSE(off.ok);
  EXPECT_EQ(off.mismatches, 1);
  EXPECT_EQ(off.nonfinite_mismatches, 1);
  EXPECT_EQ(off.worst_index, (Index{1}));
  EXPECT_TRUE(std::isnan(off.worst_actual));
  EXPECT_THAT(off.failure, HasSubstr("1 of them NaN/Inf"));
  EXPECT_THAT(off.message(), HasSubstr("actual nan, expected nan"));

  CloseOptions on;
  on.equal_nan = true;
  const CloseResult r = compare_close(x, x.clone(), on);
  EXPECT_TRUE(r.ok) << r.message();
  EXPECT_EQ(r.worst_abs, 0.0);  // an equal NaN pair differs by 0, not NaN
}

TEST(CompareNonFinite, NanAgainstANumberAlwaysFails) {
  CloseOptions o = tol(1.0, 1e300);
  o.equal_nan = true;
  EXPECT_EQ(compare_close(f64({kNaN}), f64({1.0}), o).mismatches, 1);
  EXPECT_EQ(compare_close(f64({1.0}), f64({kNaN}), o).mismatches, 1);
}

TEST(CompareNonFinite, InfinitiesMustMatchExactly) {
  EXPECT_TRUE(compare_close(f64({kInf, -kInf}), f64({kInf, -kInf})).ok);
  const CloseResult sign = compare_close(f64({kInf}), f64({-kInf}));
  EXPECT_EQ(sign.mismatches, 1);
  EXPECT_EQ(sign.nonfinite_mismatches, 1);
  EXPECT_EQ(sign.worst_abs, kInf);
  // Even a huge tolerance does not make an infinity close to a finite number, either way round.
  const CloseOptions loose = tol(1.0, 1e300);
  EXPECT_EQ(compare_close(f64({kInf}), f64({1e30}), loose).mismatches, 1);
  EXPECT_EQ(compare_close(f64({1.0}), f64({-kInf}), loose).mismatches, 1);
  // Float infinities survive the float64 conversion.
  const torch::Tensor inf32 = torch::full({2}, kInf, torch::kFloat);
  EXPECT_TRUE(compare_close(inf32, inf32.clone()).ok);
  EXPECT_FALSE(compare_close(inf32, -inf32).ok);
}

TEST(CompareNonFinite, NonFiniteMismatchIsTheWorstAndStatisticsSkipIt) {
  // (0) fails by a finite excess, (1) is an Inf mismatch, (2) a matching Inf pair.
  const CloseResult r = compare_close(f64({1.5, kInf, kInf}), f64({1.0, 2.0, kInf}), tol(0.0, 0.25));
  EXPECT_EQ(r.mismatches, 2);
  EXPECT_EQ(r.nonfinite_mismatches, 1);
  EXPECT_EQ(r.worst_index, (Index{1}));
  EXPECT_EQ(r.worst_actual, kInf);
  EXPECT_EQ(r.worst_expected, 2.0);
  // Only the finite pair (0) enters max_abs, max_rel, NMSE and cosine.
  EXPECT_EQ(r.max_abs, 0.5);
  EXPECT_EQ(r.max_abs_index, (Index{0}));
  EXPECT_EQ(r.max_rel, 0.5);
  EXPECT_EQ(r.nmse, 0.25);
  EXPECT_EQ(r.rel_l2, 0.5);
  EXPECT_EQ(r.min_cosine, 1.0);
  EXPECT_THAT(r.message(), HasSubstr("Mismatched elements: 2 / 3 (66.7%), 1 of them NaN/Inf"));
  EXPECT_THAT(r.message(), HasSubstr("actual inf, expected 2"));
}

TEST(CompareNonFinite, AllNonFiniteLeavesFiniteStatisticsEmpty) {
  const CloseResult r = compare_close(f64({kNaN, kInf}), f64({1.0, 1.0}));
  EXPECT_EQ(r.mismatches, 2);
  EXPECT_EQ(r.worst_index, (Index{0}));  // ties between non-finite mismatches: the first
  EXPECT_TRUE(r.max_abs_index.empty());
  EXPECT_TRUE(r.max_rel_index.empty());
  EXPECT_EQ(r.nmse, 0.0);
  EXPECT_THAT(r.message(), HasSubstr("Greatest absolute difference: n/a"));
}

// ---------------------------------------------------------------------------------------------------
// NMSE and cosine corner cases.

TEST(CompareStatistics, NmseOfZeroReference) {
  const torch::Tensor zeros = torch::zeros({4}, torch::kDouble);
  const CloseResult both = compare_close(zeros, zeros.clone());
  EXPECT_EQ(both.nmse, 0.0);
  EXPECT_EQ(both.rel_l2, 0.0);
  const CloseResult only_e = compare_close(f64({0, 1, 0, 0}), zeros);
  EXPECT_EQ(only_e.nmse, kInf);
  EXPECT_EQ(only_e.rel_l2, kInf);
  EXPECT_EQ(only_e.max_rel, 0.0);  // no finite pair with e ≠ 0
  EXPECT_TRUE(only_e.max_rel_index.empty());
  EXPECT_EQ(only_e.worst_rel, kInf);
}

TEST(CompareStatistics, NmseDoesNotOverflowForHugeFp64Values) {
  // (1e200)² overflows a double and (1e-200)² underflows; the sums are kept in long double, and the relative
  // L2 (an fp64 norm ratio elsewhere) falls back on them.
  const CloseResult r = compare_close(f64({2e200, 2e200}), f64({1e200, 1e200}), tol(1.0, 0.0));
  EXPECT_DOUBLE_EQ(r.nmse, 1.0);
  EXPECT_DOUBLE_EQ(r.rel_l2, 1.0);
  EXPECT_DOUBLE_EQ(r.min_cosine, 1.0);
  const CloseResult tiny = compare_close(f64({3e-200, 3e-200}), f64({2e-200, 2e-200}), tol(1.0, 0.0));
  EXPECT_DOUBLE_EQ(tiny.nmse, 0.25);
  EXPECT_DOUBLE_EQ(tiny.rel_l2, 0.5);
}

TEST(CompareStatistics, CosineOfZeroOppositeAndOrthogonalVectors) {
  const CloseOptions any = tol(1e9, 1e9);  // pass everything; only the cosine matters here
  // Row 0: both zero → 1; row 1: orthogonal → 0.
  EXPECT_EQ(compare_close(f64({0, 0, 1, 0}, {2, 2}), f64({0, 0, 0, 1}, {2, 2}), any).min_cosine, 0.0);
  // Row 0: one zero, one not → 0; row 1 identical → 1.
  EXPECT_EQ(compare_close(f64({0, 0, 1, 0}, {2, 2}), f64({1, 0, 1, 0}, {2, 2}), any).min_cosine, 0.0);
  // Both rows zero → 1.
  EXPECT_EQ(compare_close(torch::zeros({2, 2}, torch::kDouble), torch::zeros({2, 2}, torch::kDouble), any)
                .min_cosine,
            1.0);
  // Opposite → −1.
  EXPECT_EQ(compare_close(f64({1, 2}), f64({-1, -2}), any).min_cosine, -1.0);
  // 1-d: the whole tensor is one vector.
  EXPECT_NEAR(compare_close(f64({1, 0}), f64({1, 1}), any).min_cosine, 1.0 / std::sqrt(2.0), 1e-15);
}

TEST(CompareStatistics, CosineIsTakenAlongTheRequestedDimOfA3dTensor) {
  // Against all-ones [2, 2, 2], negate two entries that lie on one line along `dim`: the vector along
  // `dim` through them becomes (−1, −1) vs (1, 1), cosine −1; along either other dim each of them sits
  // in a (−1, 1) vector, cosine 0. So each dim gives −1 only when it is the one asked for.
  const torch::Tensor e = torch::ones({2, 2, 2}, torch::kDouble);
  const std::vector<std::pair<Index, Index>> lines = {
      {{0, 0, 0}, {1, 0, 0}},  // a line along dim 0
      {{0, 0, 0}, {0, 1, 0}},  // along dim 1
      {{0, 0, 0}, {0, 0, 1}},  // along dim 2
  };
  for (int64_t along = 0; along < 3; ++along) {
    torch::Tensor a = e.clone();
    for (const Index& i : {lines[along].first, lines[along].second}) a[i[0]][i[1]][i[2]] = -1.0;
    CloseOptions o = tol(1e9, 1e9);
    for (int64_t dim = -3; dim < 3; ++dim) {
      o.cosine_dim = dim;
      const double want = (dim + 3) % 3 == along ? -1.0 : 0.0;
      EXPECT_NEAR(compare_close(a, e, o).min_cosine, want, 1e-15)
          << "line along " << along << ", dim " << dim;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Shape and dtype failures.

TEST(CompareAttributes, ShapeMismatchHasNoValueStatistics) {
  const CloseResult r = compare_close(torch::ones({2, 3}), torch::full({3, 2}, 5.0), [] {
    CloseOptions o;
    o.name = "patch tokens";
    return o;
  }());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure, "shape mismatch: actual [2, 3] vs expected [3, 2]");
  EXPECT_EQ(r.actual_shape, (Index{2, 3}));
  EXPECT_EQ(r.shape, (Index{3, 2}));
  EXPECT_EQ(r.numel, 0);
  EXPECT_EQ(r.mismatches, 0);
  EXPECT_TRUE(r.worst_index.empty());
  EXPECT_EQ(r.max_abs, 0.0);
  EXPECT_EQ(r.nmse, 0.0);
  EXPECT_EQ(r.message(),
            "patch tokens: tensor-likes are not close!\nshape mismatch: actual [2, 3] vs expected [3, 2]");
}

TEST(CompareAttributes, SameNumelDifferentRankIsAShapeMismatch) {
  EXPECT_THAT(compare_close(torch::ones({6}), torch::ones({1, 6})).failure, HasSubstr("shape mismatch"));
  EXPECT_THAT(compare_close(torch::ones({}), torch::ones({1})).failure,
              HasSubstr("actual [] vs expected [1]"));
}

TEST(CompareAttributes, DtypeMismatchWhenChecked) {
  const torch::Tensor x = torch::ones({2});
  const CloseResult r = compare_close(x, x.to(torch::kDouble));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.failure, HasSubstr("dtype mismatch: actual Float vs expected Double"));
  EXPECT_EQ(r.numel, 0);
  EXPECT_TRUE(r.worst_index.empty());
  EXPECT_THAT(r.message(), HasSubstr("dtype mismatch"));
  CloseOptions o;
  o.check_dtype = false;
  EXPECT_TRUE(compare_close(x, x.to(torch::kDouble), o).ok);
  EXPECT_TRUE(compare_close(x.to(torch::kBFloat16), x, o).ok);
}

TEST(CompareAttributes, ShapeIsCheckedBeforeDtype) {
  EXPECT_THAT(compare_close(torch::ones({2}), torch::ones({3}, torch::kDouble)).failure, HasSubstr("shape"));
}

TEST(CompareAttributes, UndefinedTensors) {
  EXPECT_TRUE(compare_close(torch::Tensor(), torch::Tensor()).ok);
  const CloseResult r = compare_close(torch::Tensor(), torch::ones({1}));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.failure, HasSubstr("actual tensor is undefined"));
  EXPECT_THAT(compare_close(torch::ones({1}), torch::Tensor()).failure,
              HasSubstr("expected tensor is undefined"));
}

// ---------------------------------------------------------------------------------------------------
// Misuse throws amt::Error.

TEST(CompareMisuse, OneToleranceAloneThrows) {
  const torch::Tensor x = torch::ones({2});
  CloseOptions only_rtol;
  only_rtol.rtol = 1e-3;
  EXPECT_THROW((void)compare_close(x, x, only_rtol), amt::ConfigError);
  CloseOptions only_atol;
  only_atol.atol = 1e-3;
  EXPECT_THROW((void)compare_close(x, x, only_atol), amt::Error);
  // Even when there is nothing to compare, so the misuse cannot hide behind an undefined tensor.
  EXPECT_THROW((void)compare_close(torch::Tensor(), torch::Tensor(), only_rtol), amt::ConfigError);
  try {
    (void)compare_close(x, x, only_rtol);
  } catch (const amt::ConfigError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("rtol"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("atol"));
  }
}

TEST(CompareMisuse, NegativeOrNanToleranceThrows) {
  const torch::Tensor x = torch::ones({2});
  EXPECT_THROW((void)compare_close(x, x, tol(-1e-3, 0.0)), amt::ConfigError);
  EXPECT_THROW((void)compare_close(x, x, tol(0.0, -1e-3)), amt::ConfigError);
  EXPECT_THROW((void)compare_close(x, x, tol(kNaN, 0.0)), amt::ConfigError);
  EXPECT_NO_THROW((void)compare_close(x, x, tol(0.0, 0.0)));
}

TEST(CompareMisuse, CosineDimOutOfRangeThrows) {
  const torch::Tensor x = torch::ones({2, 3});
  CloseOptions o;
  o.cosine_dim = 2;
  EXPECT_THROW((void)compare_close(x, x, o), amt::ConfigError);
  o.cosine_dim = -3;
  EXPECT_THROW((void)compare_close(x, x, o), amt::ConfigError);
  o.cosine_dim = -2;
  EXPECT_NO_THROW((void)compare_close(x, x, o));
  // 0-d tensors take dims 0 and −1 (as torch wraps them), nothing else.
  const torch::Tensor s = torch::ones({});
  o.cosine_dim = 0;
  EXPECT_NO_THROW((void)compare_close(s, s, o));
  o.cosine_dim = 1;
  EXPECT_THROW((void)compare_close(s, s, o), amt::ConfigError);
}

TEST(CompareMisuse, RankMismatchIsReportedNotThrownAsABadCosineDim) {
  // cosine_dim 1 fits the actual [2, 3] but not the expected [6]: the shape mismatch is the news.
  CloseOptions o;
  o.cosine_dim = 1;
  CloseResult r;
  EXPECT_NO_THROW(r = compare_close(torch::ones({2, 3}), torch::ones({6}), o));
  EXPECT_THAT(r.failure, HasSubstr("shape mismatch"));
}

TEST(CompareMisuse, ComplexAndSparseAreRefused) {
  const torch::Tensor c = torch::ones({2}, torch::kComplexFloat);
  EXPECT_THROW((void)compare_close(c, c), amt::UnsupportedError);
  const torch::Tensor sp = torch::eye(3).to_sparse();
  EXPECT_THROW((void)compare_close(sp, sp), amt::UnsupportedError);
}

// ---------------------------------------------------------------------------------------------------
// Degenerate tensors and other input kinds.

TEST(CompareDegenerate, EmptyTensors) {
  for (const Index& shape : {Index{0}, Index{2, 0, 3}, Index{3, 0}}) {
    const torch::Tensor x = torch::empty(shape);
    const CloseResult r = compare_close(x, x.clone());
    EXPECT_TRUE(r.ok) << format_shape(shape);
    EXPECT_EQ(r.numel, 0);
    EXPECT_EQ(r.mismatches, 0);
    EXPECT_TRUE(r.worst_index.empty());
    EXPECT_EQ(r.nmse, 0.0);
    EXPECT_EQ(r.min_cosine, 1.0);
    CloseOptions o;
    o.cosine_dim = 1 % static_cast<int64_t>(shape.size());
    EXPECT_EQ(compare_close(x, x.clone(), o).min_cosine, 1.0);
    o.name = "empty";
    EXPECT_EQ(compare_close(x, x.clone(), o).message(), "empty: close (0 elements; dtypes Float vs Float)");
  }
  EXPECT_FALSE(compare_close(torch::empty({0, 3}), torch::empty({3, 0})).ok);
}

TEST(CompareDegenerate, ZeroDimTensors) {
  const CloseResult r =
      compare_close(torch::scalar_tensor(2.5, torch::kDouble), torch::scalar_tensor(2.0, torch::kDouble));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.numel, 1);
  EXPECT_EQ(r.mismatches, 1);
  EXPECT_TRUE(r.worst_index.empty());  // the index of the one element of a 0-d tensor is ()
  EXPECT_EQ(r.worst_actual, 2.5);
  EXPECT_EQ(r.worst_expected, 2.0);
  EXPECT_EQ(r.max_abs, 0.5);
  EXPECT_EQ(r.max_rel, 0.25);
  EXPECT_EQ(r.nmse, 0.0625);
  EXPECT_EQ(r.min_cosine, 1.0);
  EXPECT_THAT(r.message(), HasSubstr("Worst element under the rule: index (): actual 2.5, expected 2"));
  EXPECT_EQ(compare_close(torch::scalar_tensor(2.0), torch::scalar_tensor(-2.0)).min_cosine, -1.0);
  EXPECT_TRUE(compare_close(torch::scalar_tensor(2.0), torch::scalar_tensor(2.0)).ok);
}

TEST(CompareDegenerate, TensorsThatRequireGradAreCompared) {
  const torch::Tensor w = torch::ones({3}, torch::requires_grad());
  const CloseResult r = compare_close(w * 2, torch::full({3}, 2.0));
  EXPECT_TRUE(r.ok) << r.message();
}

TEST(CompareDegenerate, Bf16AgainstFp32ReferenceUsesBf16Tolerance) {
  // A bf16 result against its fp32 reference: the usual harness comparison.
  torch::manual_seed(7);
  const torch::Tensor ref = torch::randn({4, 8});
  const torch::Tensor got = ref.to(torch::kBFloat16);
  CloseOptions o;
  o.check_dtype = false;
  const CloseResult r = compare_close(got, ref, o);
  EXPECT_TRUE(r.ok) << r.message();  // bf16 rounding is at most 2^-9 relative < 1.6e-2
  EXPECT_EQ(r.rtol, 1.6e-2);
  EXPECT_GT(r.max_abs, 0.0);
  EXPECT_GT(r.nmse, 0.0);
  EXPECT_LT(r.rel_l2, 0.004);  // ≤ 2^-9 relative per element
  EXPECT_GT(r.min_cosine, 0.9999);
  EXPECT_LT(r.min_cosine, 1.0);
}

}  // namespace
}  // namespace amt::conformance
