// GoogleTest glue for compare_close: EXPECT_CLOSE / ASSERT_CLOSE print CloseResult::message() on failure.
// Header-only on purpose: amt_reference does not link gtest, only the test executables do.
//
//   EXPECT_CLOSE(out, ref);                      // default tolerances for the two dtypes
//   EXPECT_CLOSE(out, ref, opts);                // opts: an amt::conformance::CloseOptions
//
// When opts.name is empty the actual-value expression names the comparison in the message.
#pragma once
#include <gtest/gtest.h>

#include "conformance/lib/compare.hpp"

namespace amt::conformance {

namespace detail {
inline CloseOptions options_or_default() {
  return {};
}
inline const CloseOptions& options_or_default(const CloseOptions& options) {
  return options;
}
}  // namespace detail

// Predicate-formatter for EXPECT_PRED_FORMAT3; usable directly as well.
inline ::testing::AssertionResult assert_close_pred(const char* actual_expr, const char* expected_expr,
                                                    const char* /*options_expr*/, const torch::Tensor& actual,
                                                    const torch::Tensor& expected,
                                                    const CloseOptions& options) {
  CloseOptions named = options;
  if (named.name.empty()) named.name = actual_expr;
  const CloseResult result = compare_close(actual, expected, named);
  if (result.ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "compare_close(" << actual_expr << ", " << expected_expr << ") failed:\n"
         << result.message();
}

}  // namespace amt::conformance

// The options argument is optional (GNU-style empty __VA_ARGS__, accepted by GCC and Clang in C++17).
#define EXPECT_CLOSE(actual, expected, ...)                                    \
  EXPECT_PRED_FORMAT3(::amt::conformance::assert_close_pred, actual, expected, \
                      ::amt::conformance::detail::options_or_default(__VA_ARGS__))
#define ASSERT_CLOSE(actual, expected, ...)                                    \
  ASSERT_PRED_FORMAT3(::amt::conformance::assert_close_pred, actual, expected, \
                      ::amt::conformance::detail::options_or_default(__VA_ARGS__))
