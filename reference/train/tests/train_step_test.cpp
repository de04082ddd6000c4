// training_step with dynamic loss scaling (precision/loss_scaler.hpp): a power-of-two scale changes nothing
// but the gradients' path (the unscaled step is bit-identical, grad norm included); an overflow step changes
// nothing but the scale.
#include "reference/train/train_step.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "reference/model/tests/amt_test_util.hpp"
#include "reference/precision/boundary.hpp"

namespace amt::train {
namespace {

using model::testing::PolicyKind;
using model::testing::PrecisionPolicy;

struct ScaledRun {
  model::AmtModel model;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  TensorMap batch;
};

// A fresh tiny model (training changes it) and one labelled batch of two 56×84 images.
ScaledRun fresh_run(const PrecisionPolicy& policy) {
  ScaledRun r{model::make_amt_model(model::testing::tiny_config(), 0, policy), nullptr, {}};
  r.model->eval();  // no dropout: two runs draw nothing random
  r.optimizer =
      std::make_unique<torch::optim::AdamW>(r.model->parameters(), torch::optim::AdamWOptions(1e-3));
  TensorMap b;
  b["image"] = model::testing::random_image(2, 56, 84, torch::kFloat, 3);
  b["K"] = model::testing::camera_k(2, 56, 84);
  model::testing::add_labels(b, 2, 56, 84, torch::kFloat, 3);
  r.batch = precision::conform_batch(b, policy);
  return r;
}

std::vector<torch::Tensor> parameters_of(const ScaledRun& r) {
  std::vector<torch::Tensor> out;
  for (const auto& p : r.model->parameters()) out.push_back(p.detach().clone());
  return out;
}

TEST(TrainingStep, APowerOfTwoLossScaleGivesTheUnscaledStepBitForBit) {
  const PrecisionPolicy policy(PolicyKind::kFp32);
  ScaledRun plain = fresh_run(policy), scaled = fresh_run(policy);
  precision::LossScalerOptions o;
  o.init_scale = 1024.0;
  precision::LossScaler scaler(o);
  // No clipping: a step that forgot to unscale would show in the norm and in AdamW's second moment.
  const StepResult a =
      training_step(*plain.model, *plain.optimizer, {plain.batch}, LossWeights{}, policy, 0.0);
  const StepResult b = training_step(*scaled.model, *scaled.optimizer, {scaled.batch}, LossWeights{}, policy,
                                     0.0, {}, &scaler);
  ASSERT_FALSE(b.skipped);
  EXPECT_EQ(b.loss_scale, 1024.0);
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.grad_norm, b.grad_norm);
  const auto pa = parameters_of(plain), pb = parameters_of(scaled);
  for (size_t i = 0; i < pa.size(); ++i) ASSERT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
  EXPECT_EQ(scaler.growth_tracker(), 1);
}

TEST(TrainingStep, AnOverflowStepChangesNothingButTheScale) {
  const PrecisionPolicy policy(PolicyKind::kFp32);
  ScaledRun run = fresh_run(policy);
  precision::LossScalerOptions o;
  o.init_scale = 1e38;  // loss · S overflows fp32 on the way back: the gradients are inf or NaN
  precision::LossScaler scaler(o);
  const auto before = parameters_of(run);
  const StepResult r =
      training_step(*run.model, *run.optimizer, {run.batch}, LossWeights{}, policy, 1.0, {}, &scaler);
  EXPECT_TRUE(r.skipped);
  EXPECT_EQ(scaler.scale_value(), 5e37);
  EXPECT_EQ(scaler.growth_tracker(), 0);
  const auto after = parameters_of(run);
  for (size_t i = 0; i < before.size(); ++i)
    ASSERT_TRUE(torch::equal(before[i], after[i])) << "parameter " << i;
  EXPECT_TRUE(run.optimizer->state().empty());  // AdamW never stepped: no moments
}

}  // namespace
}  // namespace amt::train
