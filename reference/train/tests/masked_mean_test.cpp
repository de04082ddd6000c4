// The validity-masked mean every loss builds on: exact 0 and zero gradient when nothing is valid, never NaN.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <torch/torch.h>

#include "reference/core/error.hpp"
#include "reference/train/masked_mean.hpp"

namespace amt::train {
namespace {

TEST(MaskedMean, MeanOverValidEntries) {
  const torch::Tensor v = torch::tensor({1.0, 2.0, 3.0, 10.0});
  const torch::Tensor m = torch::tensor({true, false, true, false});
  EXPECT_DOUBLE_EQ(masked_mean(v, m).item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(masked_sum(v, m).item<double>(), 4.0);
  EXPECT_EQ(masked_count(v, m).item<int64_t>(), 2);
  EXPECT_EQ(masked_mean(v.to(torch::kFloat32), m).scalar_type(), torch::kFloat32);
}

TEST(MaskedMean, BroadcastMaskCountsBroadcastEntries) {
  // A per-image mask [B, 1] against per-joint errors [B, 3].
  const torch::Tensor v = torch::tensor({1.0, 2.0, 3.0, 40.0, 50.0, 60.0}).view({2, 3});
  const torch::Tensor m = torch::tensor({true, false}).view({2, 1});
  EXPECT_DOUBLE_EQ(masked_mean(v, m).item<double>(), 2.0);
  EXPECT_EQ(masked_count(v, m).item<int64_t>(), 3);
  EXPECT_THROW(masked_mean(v, torch::ones({3, 1}, torch::kBool)), ShapeError);
  EXPECT_THROW(masked_mean(v, torch::ones({1, 2, 3}, torch::kBool)), ShapeError);  // would enlarge values
  EXPECT_THROW(masked_mean(v, torch::ones({2, 3})), DtypeError);                   // float mask
  EXPECT_THROW(masked_mean(torch::ones({2, 3}, torch::kInt64), torch::ones({2, 3}, torch::kBool)),
               DtypeError);
}

TEST(MaskedMean, MaskedNonFiniteValuesContributeNothing) {
  const torch::Tensor v = torch::tensor({1.0, std::nan(""), double(INFINITY), 3.0}).requires_grad_();
  const torch::Tensor m = torch::tensor({true, false, false, true});
  const torch::Tensor r = masked_mean(v, m);
  r.backward();
  EXPECT_DOUBLE_EQ(r.item<double>(), 2.0);
  EXPECT_TRUE(torch::equal(v.grad(), torch::tensor({0.5, 0.0, 0.0, 0.5})));
}

// Random shapes, dtypes and masks with no valid entry: exactly 0, zero gradient, never NaN.
RC_GTEST_PROP(MaskedMeanProperty, NothingValidGivesExactZeroAndZeroGradient, ()) {
  const int64_t rank = *rc::gen::inRange<int64_t>(0, 4);
  std::vector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i) shape.push_back(*rc::gen::inRange<int64_t>(0, 5));
  const auto dtype = *rc::gen::element(torch::kFloat32, torch::kFloat64, torch::kBFloat16);
  torch::manual_seed(*rc::gen::arbitrary<uint32_t>());
  const torch::Tensor x = (torch::randn(shape, torch::kFloat64) * 1e3).to(dtype).requires_grad_();
  // The mask may broadcast (leading dims dropped, dims of 1).
  std::vector<int64_t> mask_shape(shape.begin() + (rank > 0 ? *rc::gen::inRange<int64_t>(0, rank + 1) : 0),
                                  shape.end());
  for (auto& d : mask_shape) {
    if (*rc::gen::arbitrary<bool>()) d = 1;
  }
  const torch::Tensor r = masked_mean(x * 2.0, torch::zeros(mask_shape, torch::kBool));
  r.backward();
  RC_ASSERT(r.scalar_type() == dtype);
  RC_ASSERT(r.item<double>() == 0.0);
  RC_ASSERT(x.grad().defined());
  RC_ASSERT(torch::count_nonzero(x.grad()).item<int64_t>() == 0);
}

RC_GTEST_PROP(MaskedMeanProperty, AgreesWithTheMeanOfTheSelection, ()) {
  const int64_t n = *rc::gen::inRange<int64_t>(1, 50);
  torch::manual_seed(*rc::gen::arbitrary<uint32_t>());
  const torch::Tensor v = torch::randn({n}, torch::kFloat64);
  const torch::Tensor m = torch::rand({n}, torch::kFloat64) < 0.5;
  const torch::Tensor r = masked_mean(v, m);
  if (m.any().item<bool>()) {
    RC_ASSERT(std::abs(r.item<double>() - v.masked_select(m).mean().item<double>()) < 1e-12);
  } else {
    RC_ASSERT(r.item<double>() == 0.0);
  }
}

}  // namespace
}  // namespace amt::train
