// The dtype support matrix agrees with the declared file on this LibTorch, and an edited entry is reported as
// an unexpected pass or failure.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "conformance/lib/dtype_support.hpp"

namespace amt::conformance {
namespace {

TEST(DtypeSupport, ObservedMatchesTheDeclaredFile) {
  const auto cells = observe_dtype_support();
  const auto mismatches =
      compare_dtype_support(cells, read_declared_dtype_support(find_declared_dtype_support()));
  for (const auto& m : mismatches) ADD_FAILURE() << m.line();
  EXPECT_EQ(cells.size(), dtype_support_ops().size() * 8);
}

// What LibTorch 2.13 changed against 1.13 (docs/libtorch-upgrade.md), and what it did not.
TEST(DtypeSupport, KnownFactsOfLibTorch213Cpu) {
  std::map<std::string, std::string> at;
  for (const auto& c : observe_dtype_support()) at[c.op + " " + c.dtype + "/" + c.mode] = c.status;
  EXPECT_EQ(at["grid_sample bf16/plain"], "works");                // 1.13: throws (no bf16 CPU kernel)
  EXPECT_EQ(at["layer_norm_fp32_params bf16/autocast"], "works");  // 1.13: throws (no mixed LayerNorm)
  EXPECT_EQ(at["interpolate_bicubic bf16/plain"], "works");        // 1.13: wrong (bf16 bicubic)
  EXPECT_EQ(at["linear f16/plain"], "works");                      // 1.13: throws (no fp16 CPU matmul)
  EXPECT_EQ(at["matmul_fp32_rhs bf16/plain"], "throws");           // seed 002: unchanged
  EXPECT_EQ(at["svd f16/plain"], "throws");                        // unchanged
  EXPECT_EQ(at["linear bf16/plain"], "works");
}

TEST(DtypeSupport, AnEditedEntryIsAnUnexpectedPassOrFailure) {
  const auto cells = observe_dtype_support();
  nlohmann::json declared = dtype_support_json(cells);
  declared["ops"]["svd"]["f16/plain"] = "works";       // claim a kernel that is not there
  declared["ops"]["linear"]["bf16/plain"] = "throws";  // claim a kernel is missing
  const auto m = compare_dtype_support(cells, declared);
  ASSERT_EQ(m.size(), 2u);
  std::map<std::string, std::string> kind;
  for (const auto& x : m) kind[x.observed.op] = x.kind;
  EXPECT_EQ(kind["svd"], "unexpected failure");
  EXPECT_EQ(kind["linear"], "unexpected pass");
}

}  // namespace
}  // namespace amt::conformance
