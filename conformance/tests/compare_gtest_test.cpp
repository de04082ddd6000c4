// EXPECT_CLOSE / ASSERT_CLOSE: pass silently when close, fail with CloseResult::message() otherwise.
#include "conformance/lib/compare_gtest.hpp"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

namespace amt::conformance {
namespace {

TEST(CompareGtest, ClosePasses) {
  const torch::Tensor x = torch::arange(6, torch::kFloat).reshape({2, 3});
  EXPECT_CLOSE(x, x.clone());
  CloseOptions o;
  o.rtol = 0.0;
  o.atol = 0.5;
  EXPECT_CLOSE(x + 0.25, x, o);
  ASSERT_CLOSE(x, x.clone(), o);
}

TEST(CompareGtest, FailurePrintsTheMessageNamedAfterTheExpression) {
  const torch::Tensor joints = torch::zeros({2, 3});
  torch::Tensor out = joints.clone();
  out[1][2] = 0.75f;
  EXPECT_NONFATAL_FAILURE(EXPECT_CLOSE(out, joints),
                          "compare_close(out, joints) failed:\nout: tensor-likes are not close!");
  EXPECT_NONFATAL_FAILURE(EXPECT_CLOSE(out, joints), "Mismatched elements: 1 / 6 (16.7%)");
  EXPECT_NONFATAL_FAILURE(EXPECT_CLOSE(out, joints),
                          "Worst element under the rule: index (1, 2): actual 0.75, expected 0,");
}

TEST(CompareGtest, OptionsNameWinsOverTheExpression) {
  CloseOptions o;
  o.name = "hand_joints";
  EXPECT_NONFATAL_FAILURE(EXPECT_CLOSE(torch::ones({3}), torch::zeros({3}), o), "hand_joints: tensor-likes");
  EXPECT_NONFATAL_FAILURE(EXPECT_CLOSE(torch::ones({3}), torch::zeros({2}), o),
                          "shape mismatch: actual [3] vs expected [2]");
}

void assert_close_on_a_mismatch() {
  ASSERT_CLOSE(torch::ones({2}), torch::zeros({2}));
  ADD_FAILURE() << "ASSERT_CLOSE did not return";
}

TEST(CompareGtest, AssertCloseIsFatal) {
  EXPECT_FATAL_FAILURE(assert_close_on_a_mismatch(), "Mismatched elements: 2 / 2 (100.0%)");
}

}  // namespace
}  // namespace amt::conformance
