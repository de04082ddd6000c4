// RapidCheck properties of compare_close. Cases are (shape, dtypes, seed, a few switches); tensor data
// comes from a generator seeded with `seed`, so a counterexample shrinks on shapes and dtypes and still
// names the data exactly.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "conformance/lib/compare.hpp"

namespace amt::conformance {
namespace {

using Shape = std::vector<int64_t>;

const std::vector<torch::ScalarType> kDtypes = {torch::kFloat, torch::kDouble, torch::kBFloat16,
                                                torch::kHalf,  torch::kLong,   torch::kInt,
                                                torch::kByte,  torch::kBool};

rc::Gen<torch::ScalarType> gen_dtype() {
  return rc::gen::elementOf(kDtypes);
}

// Rank 0..4, each dim min_dim..5 (min_dim 0 allows empty tensors). Drawn at full size from the first
// case on (RapidCheck would otherwise start with scalars and rarely reach rank 4); still shrinks.
rc::Gen<Shape> gen_shape(int64_t min_dim) {
  return rc::gen::resize(100, rc::gen::mapcat(rc::gen::inRange(0, 5), [min_dim](int rank) {
                           return rc::gen::container<Shape>(static_cast<size_t>(rank),
                                                            rc::gen::inRange<int64_t>(min_dim, 6));
                         }));
}

torch::Generator seeded(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

// Random values representable in `dtype`: normal for floats, small integers for ints, coin flips for bool.
torch::Tensor random_tensor(const Shape& shape, torch::ScalarType dtype, uint64_t seed) {
  auto g = seeded(seed);
  if (dtype == torch::kBool) return torch::randint(0, 2, shape, g, torch::kLong).to(torch::kBool);
  if (dtype == torch::kByte) return torch::randint(0, 200, shape, g, torch::kLong).to(dtype);
  if (!c10::isFloatingType(dtype)) return torch::randint(-100, 100, shape, g, torch::kLong).to(dtype);
  return torch::randn(shape, g, torch::kDouble).to(dtype);
}

// Overwrites about a fifth of the elements (floating dtypes only) with NaN, +Inf or −Inf.
torch::Tensor with_nonfinite(torch::Tensor t, uint64_t seed) {
  if (!c10::isFloatingType(t.scalar_type())) return t;
  auto g = seeded(seed ^ 0x5eed);
  const torch::Tensor u = torch::rand(t.sizes(), g, torch::kDouble);
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  t = t.clone();
  t.masked_fill_(u < 0.08, nan);
  t.masked_fill_((u >= 0.08) & (u < 0.14), inf);
  t.masked_fill_((u >= 0.14) & (u < 0.20), -inf);
  return t;
}

// Same values, transposed memory layout (for rank ≥ 2), so flat memory order ≠ logical order.
torch::Tensor scrambled_layout(const torch::Tensor& t) {
  if (t.dim() < 2) return t;
  return t.transpose(0, t.dim() - 1).contiguous().transpose(0, t.dim() - 1);
}

// ---------------------------------------------------------------------------------------------------

RC_GTEST_PROP(CompareProperty, TensorComparedWithItselfIsExactlyClose, ()) {
  const Shape shape = *gen_shape(0);
  const auto dtype = *gen_dtype();
  const auto seed = *rc::gen::arbitrary<uint64_t>();
  const bool nonfinite = *rc::gen::arbitrary<bool>();
  torch::Tensor x = random_tensor(shape, dtype, seed);
  if (nonfinite) x = with_nonfinite(x, seed);
  CloseOptions o;
  o.equal_nan = nonfinite;  // NaN == NaN only when asked for
  const CloseResult r = compare_close(scrambled_layout(x), x.clone(), o);
  RC_LOG() << r.message() << "\n";
  RC_ASSERT(r.ok);
  RC_ASSERT(r.failure.empty());
  RC_ASSERT(r.mismatches == 0);
  RC_ASSERT(r.numel == x.numel());
  RC_ASSERT(r.max_abs == 0.0);
  RC_ASSERT(r.max_rel == 0.0);
  RC_ASSERT(r.nmse == 0.0);
  RC_ASSERT(r.rel_l2 == 0.0);
  RC_ASSERT(r.min_cosine == 1.0);  // exactly: sqrt(fl(s·s)) == s
  RC_ASSERT(r.worst_abs == 0.0);
  RC_ASSERT(r.worst_index.size() == (x.numel() > 0 ? shape.size() : 0u));
  RC_ASSERT(r.message().find('\n') == std::string::npos);
}

RC_GTEST_PROP(CompareProperty, OnePerturbedElementIsTheOnlyMismatchAtItsIndex, ()) {
  const Shape shape = *gen_shape(1);
  const auto dtype = *gen_dtype();
  const auto seed = *rc::gen::arbitrary<uint64_t>();
  const bool scramble = *rc::gen::arbitrary<bool>();
  const torch::Tensor expected = random_tensor(shape, dtype, seed);
  const int64_t flat = *rc::gen::inRange<int64_t>(0, expected.numel());

  torch::Tensor actual = expected.clone();
  torch::Tensor cell = actual.reshape({-1}).narrow(0, flat, 1);  // a view into `actual`
  const Tolerance t = default_tolerance(dtype, dtype);
  if (dtype == torch::kBool) {
    cell.logical_not_();
  } else if (!c10::isFloatingType(dtype)) {
    cell.add_(1);  // integers compare exactly; values stay below 200, so no uint8 wrap-around
  } else {
    // 1 + 2·allowed beyond the value: far more than the tolerance, and far more than the dtype's
    // rounding at these magnitudes (|x| < 10 for floats, so bf16 spacing ≤ 2^-4).
    const double e = cell.item<double>();
    cell.add_(1.0 + 2.0 * (t.atol + t.rtol * std::abs(e)));
  }
  if (scramble) actual = scrambled_layout(actual);

  const CloseResult r = compare_close(actual, expected);
  RC_LOG() << r.message() << "\n";
  RC_ASSERT(!r.ok);
  RC_ASSERT(r.mismatches == 1);
  RC_ASSERT(r.nonfinite_mismatches == 0);
  // The index as torch finds it, independently of unravel_index.
  const torch::Tensor where = torch::nonzero(actual != expected);
  RC_ASSERT(where.size(0) == 1);
  const Shape want(where.data_ptr<int64_t>(), where.data_ptr<int64_t>() + where.size(1));
  RC_ASSERT(r.worst_index == want);
  RC_ASSERT(r.max_abs_index == want);
  RC_ASSERT(r.worst_expected == expected.reshape({-1})[flat].item<double>());
  RC_ASSERT(r.worst_actual == actual.reshape({-1})[flat].item<double>());
  RC_ASSERT(r.worst_abs > r.worst_allowed);
  RC_ASSERT(r.message().find("Mismatched elements: 1 / " + std::to_string(expected.numel())) !=
            std::string::npos);
  RC_ASSERT(r.message().find("index " + format_index(want)) != std::string::npos);
}

// Against an oracle built from torch ops on float64 copies: torch::isclose for the rule (it has the same
// NaN/Inf semantics), argmax for the worst element and max_abs, sums for NMSE and cosine.
RC_GTEST_PROP(CompareProperty, AgreesWithATorchOpsOracle, ()) {
  const Shape shape = *gen_shape(0);
  const auto actual_dtype = *gen_dtype();
  const auto expected_dtype = *gen_dtype();
  const auto seed = *rc::gen::arbitrary<uint64_t>();
  const int noise_exp = *rc::gen::inRange(-9, 1);  // noise 1e-9 .. 1: from all-pass to all-fail
  const bool nonfinite = *rc::gen::arbitrary<bool>();
  const bool equal_nan = *rc::gen::arbitrary<bool>();
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t cosine_dim =
      *rc::gen::inRange<int64_t>(-std::max<int64_t>(rank, 1), std::max<int64_t>(rank, 1));

  torch::Tensor expected = random_tensor(shape, expected_dtype, seed);
  const torch::Tensor noise =
      torch::randn(shape, seeded(seed + 1), torch::kDouble) * std::pow(10.0, noise_exp);
  torch::Tensor actual_values = expected.to(torch::kDouble) + noise;
  // Negative doubles cast to uint8 are undefined behaviour in the conversion; keep them in range.
  if (actual_dtype == torch::kByte) actual_values = actual_values.clamp(0, 255);
  torch::Tensor actual = actual_values.to(actual_dtype);
  if (nonfinite) {
    expected = with_nonfinite(expected, seed + 2);
    actual = with_nonfinite(actual, seed + 3);
  }
  CloseOptions o;
  o.check_dtype = false;
  o.equal_nan = equal_nan;
  o.cosine_dim = cosine_dim;
  o.name = "oracle";
  const CloseResult r = compare_close(actual, expected, o);
  RC_LOG() << r.message() << "\n";

  const Tolerance t = default_tolerance(actual_dtype, expected_dtype);
  RC_ASSERT(r.rtol == t.rtol);
  RC_ASSERT(r.atol == t.atol);
  const torch::Tensor a = actual.to(torch::kDouble), e = expected.to(torch::kDouble);
  const torch::Tensor close = torch::isclose(a, e, t.rtol, t.atol, equal_nan);
  const torch::Tensor finite = torch::isfinite(a) & torch::isfinite(e);
  RC_ASSERT(r.mismatches == (~close).sum().item<int64_t>());
  RC_ASSERT(r.nonfinite_mismatches == (~close & ~finite).sum().item<int64_t>());
  RC_ASSERT(r.ok == close.all().item<bool>());
  RC_ASSERT(r.numel == a.numel());
  if (a.numel() == 0) {
    RC_ASSERT(r.worst_index.empty());
    return;
  }

  // Worst: largest excess, non-finite mismatches +inf, matched non-finite pairs −inf, first on ties.
  const double inf = std::numeric_limits<double>::infinity();
  torch::Tensor excess = (a - e).abs() - (t.atol + t.rtol * e.abs());
  excess =
      torch::where(finite, excess, torch::where(close, torch::full_like(a, -inf), torch::full_like(a, inf)));
  const int64_t worst = excess.reshape({-1}).argmax().item<int64_t>();
  RC_ASSERT(r.worst_index == unravel_index(worst, shape));

  const torch::Tensor d = torch::where(finite, (a - e).abs(), torch::full_like(a, -1.0));
  if (finite.any().item<bool>()) {
    RC_ASSERT(r.max_abs == d.max().item<double>());
    RC_ASSERT(r.max_abs_index == unravel_index(d.reshape({-1}).argmax().item<int64_t>(), shape));
  } else {
    RC_ASSERT(r.max_abs_index.empty());
  }

  const torch::Tensor af = a.masked_fill(~finite, 0.0), ef = e.masked_fill(~finite, 0.0);
  const double sq_err = (af - ef).square().sum().item<double>(), sq_ref = ef.square().sum().item<double>();
  if (sq_ref > 0) {
    RC_ASSERT(std::abs(r.nmse - sq_err / sq_ref) <= 1e-12 * (sq_err / sq_ref) + 1e-300);
  } else {
    RC_ASSERT(r.nmse == (sq_err > 0 ? inf : 0.0));
  }

  const torch::Tensor av = rank <= 1 ? af.reshape({1, -1}) : af.movedim(cosine_dim, -1);
  const torch::Tensor ev = rank <= 1 ? ef.reshape({1, -1}) : ef.movedim(cosine_dim, -1);
  const torch::Tensor dot = (av * ev).sum(-1), aa = av.square().sum(-1), ee = ev.square().sum(-1);
  const torch::Tensor cos =
      torch::where((aa == 0) & (ee == 0), torch::ones_like(dot),
                   torch::where((aa == 0) | (ee == 0), torch::zeros_like(dot), dot / (aa * ee).sqrt()));
  const double want_cos = cos.numel() == 0 ? 1.0 : std::clamp(cos.min().item<double>(), -1.0, 1.0);
  RC_ASSERT(std::abs(r.min_cosine - want_cos) <= 1e-12);

  if (!r.ok) {
    const std::string m = r.message();
    RC_ASSERT(m.find("oracle: tensor-likes are not close!") == 0u);
    RC_ASSERT(m.find("Mismatched elements: " + std::to_string(r.mismatches) + " / " +
                     std::to_string(r.numel)) != std::string::npos);
    RC_ASSERT(m.find("Worst element under the rule: index " + format_index(r.worst_index)) !=
              std::string::npos);
  }
}

}  // namespace
}  // namespace amt::conformance
