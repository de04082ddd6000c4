// The fused attention kernel computes the same function as the written-out form it replaced.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "conformance/lib/compare_gtest.hpp"
#include "reference/model/layers.hpp"

namespace amt::model {
namespace {

struct Qkv {
  torch::Tensor q, k, v;
};

// [B, H, N, d] with rectangular-grid token counts (1 CLS + 4 registers + 6×8 patches), in `dtype`.
Qkv random_qkv(torch::ScalarType dtype, uint64_t seed) {
  torch::manual_seed(seed);
  const auto make = [&] { return torch::randn({2, 3, 53, 32}, torch::kDouble).to(dtype); };
  return {make(), make(), make()};
}

torch::Tensor fp64_reference(const Qkv& x) {
  return attention_math_path(x.q.to(torch::kDouble), x.k.to(torch::kDouble), x.v.to(torch::kDouble));
}

double max_abs_error(const torch::Tensor& got, const torch::Tensor& want) {
  return (got.to(torch::kDouble) - want).abs().max().item<double>();
}

TEST(Attention, Fp32FusedMatchesFp64WithinFp32Precision) {
  const Qkv x = random_qkv(torch::kFloat, 1);
  const torch::Tensor fused = scaled_dot_attention(x.q, x.k, x.v);
  // torch.testing's fp32 tolerances (compare.hpp), against fp64 of the same fp32 inputs.
  EXPECT_CLOSE(fused, fp64_reference(x).to(torch::kFloat));
}

TEST(Attention, Bf16FusedIsNoWorseThanTheWrittenOutForm) {
  for (uint64_t seed : {2, 3, 4}) {
    const Qkv x = random_qkv(torch::kBFloat16, seed);
    const torch::Tensor want = fp64_reference(x);
    const double fused = max_abs_error(at::scaled_dot_product_attention(x.q, x.k, x.v), want);
    const double math = max_abs_error(attention_math_path(x.q, x.k, x.v), want);
    EXPECT_LE(fused, math) << "seed " << seed;
  }
}

// The fused bf16 kernel would be as accurate (above), but the model takes the written-out form in bf16 for
// speed, and in fp64 as the reference.
TEST(Attention, Fp64AndBf16TakeTheWrittenOutForm) {
  for (const auto dtype : {torch::kDouble, torch::kBFloat16}) {
    const Qkv x = random_qkv(dtype, 5);
    EXPECT_TRUE(torch::equal(scaled_dot_attention(x.q, x.k, x.v), attention_math_path(x.q, x.k, x.v)));
  }
  const Qkv f = random_qkv(torch::kFloat, 6);
  EXPECT_FALSE(torch::equal(scaled_dot_attention(f.q, f.k, f.v), attention_math_path(f.q, f.k, f.v)))
      << "fp32 should take the fused kernel";
}

}  // namespace
}  // namespace amt::model
