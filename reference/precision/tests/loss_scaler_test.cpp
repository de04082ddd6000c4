// Dynamic loss scaling (GradScaler's semantics): scale, unscale, back-off on an overflow, growth after the
// interval, the checkpoint's state, bad options; which policies need it.
#include "reference/precision/loss_scaler.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "reference/core/error.hpp"

namespace amt::precision {
namespace {

TEST(LossScaler, ScalesTheLossAndUnscalesTheGradientsExactly) {
  const LossScaler scaler;  // 2^16
  torch::Tensor w = torch::tensor({0.5f, -3.0f}, torch::requires_grad());
  const torch::Tensor loss = (w * torch::tensor({1e-6f, 2e-6f})).sum();
  scaler.scale(loss).backward();
  EXPECT_EQ(w.grad()[0].item<float>(), 1e-6f * 65536.0f);
  scaler.unscale({w});
  // A power-of-two scale: unscaling gives back the unscaled gradient bit for bit.
  EXPECT_EQ(w.grad()[0].item<float>(), 1e-6f);
  EXPECT_EQ(w.grad()[1].item<float>(), 2e-6f);
}

TEST(LossScaler, BacksOffOnAnOverflowAndGrowsAfterTheInterval) {
  LossScalerOptions o;
  o.init_scale = 1024.0;
  o.growth_interval = 3;
  LossScaler scaler(o);
  scaler.update(true);
  EXPECT_EQ(scaler.scale_value(), 512.0);
  EXPECT_EQ(scaler.growth_tracker(), 0);
  scaler.update(false);
  scaler.update(false);
  EXPECT_EQ(scaler.scale_value(), 512.0);
  EXPECT_EQ(scaler.growth_tracker(), 2);
  scaler.update(true);  // an overflow restarts the count
  EXPECT_EQ(scaler.scale_value(), 256.0);
  for (int i = 0; i < 3; ++i) scaler.update(false);
  EXPECT_EQ(scaler.scale_value(), 512.0);
  EXPECT_EQ(scaler.growth_tracker(), 0);
}

TEST(LossScaler, RestoresACheckpointsStateAndRefusesBadOptions) {
  LossScaler scaler;
  scaler.restore(8.0, 5);
  EXPECT_EQ(scaler.scale_value(), 8.0);
  EXPECT_EQ(scaler.growth_tracker(), 5);
  EXPECT_THROW(scaler.restore(0.0, 0), ConfigError);
  LossScalerOptions bad;
  bad.init_scale = std::numeric_limits<double>::infinity();
  EXPECT_THROW(LossScaler{bad}, ConfigError);
  bad = {};
  bad.backoff_factor = 1.0;
  EXPECT_THROW(LossScaler{bad}, ConfigError);
  bad = {};
  bad.growth_interval = 0;
  EXPECT_THROW(LossScaler{bad}, ConfigError);
}

TEST(LossScaler, OnlyTheFp16PoliciesNeedIt) {
  EXPECT_FALSE(needs_loss_scaling(PrecisionPolicy(PolicyKind::kFp32)));
  EXPECT_FALSE(needs_loss_scaling(PrecisionPolicy(PolicyKind::kBf16Autocast)));
  EXPECT_FALSE(needs_loss_scaling(PrecisionPolicy(PolicyKind::kBf16Pure)));
  EXPECT_FALSE(needs_loss_scaling(PrecisionPolicy(PolicyKind::kFp64)));
  // fp16 policies exist on CUDA devices only (P3); the decision does not depend on the device.
  EXPECT_TRUE(needs_loss_scaling(PrecisionPolicy(PolicyKind::kFp16Autocast, torch::Device(torch::kCUDA, 0))));
  EXPECT_TRUE(needs_loss_scaling(PrecisionPolicy(PolicyKind::kFp16Pure, torch::Device(torch::kCUDA, 0))));
}

}  // namespace
}  // namespace amt::precision
