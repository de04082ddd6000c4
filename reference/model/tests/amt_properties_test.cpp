// P1 for the whole model: any policy × image dtype × K/E dtype × E present × batch × grid goes through
// conform_batch → forward → compute_losses → backward with no exception and no caller-side casting, and the
// outputs have the P5 dtypes. RapidCheck generates shapes, dtypes and a seed; pixels come from a seeded
// torch generator.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "reference/model/tests/amt_test_util.hpp"
#include "reference/train/losses.hpp"

namespace amt::model::testing {
namespace {

RC_GTEST_PROP(AmtProperties, ForwardBackwardUnderEveryPolicyAndDtype, ()) {
  const PolicyKind kind = *rc::gen::element(PolicyKind::kFp32, PolicyKind::kBf16Autocast,
                                            PolicyKind::kBf16Pure, PolicyKind::kFp64);
  const torch::ScalarType image_dt =
      *rc::gen::element(torch::kByte, torch::kHalf, torch::kBFloat16, torch::kFloat, torch::kDouble);
  const torch::ScalarType k_dt =
      *rc::gen::element(torch::kHalf, torch::kBFloat16, torch::kFloat, torch::kDouble);
  const torch::ScalarType e_dt =
      *rc::gen::element(torch::kHalf, torch::kBFloat16, torch::kFloat, torch::kDouble);
  const torch::ScalarType label_dt =
      *rc::gen::element(torch::kHalf, torch::kBFloat16, torch::kFloat, torch::kDouble);
  const bool with_e = *rc::gen::arbitrary<bool>();
  const int64_t B = *rc::gen::inRange<int64_t>(1, 5);
  const int64_t hp = *rc::gen::inRange<int64_t>(1, 6), wp = *rc::gen::inRange<int64_t>(1, 7);
  const uint64_t seed = *rc::gen::arbitrary<uint32_t>();
  const int64_t H = hp * 14, W = wp * 14;

  const PrecisionPolicy policy(kind);
  precision::TensorMap batch{{"image", random_image(B, H, W, image_dt, seed)},
                             {"K", camera_k(B, H, W, k_dt)}};
  if (with_e) batch["E"] = camera_e(B, e_dt);
  add_labels(batch, B, H, W, label_dt, seed);

  AmtModel& model = tiny_model(policy);
  model->train();  // dropout on, as in training
  model->zero_grad();
  const precision::TensorMap conformed = precision::conform_batch(batch, policy);
  const TensorMap out = model->forward(conformed, policy);
  model->eval();
  for (const auto& [name, t] : out) {
    RC_ASSERT(t.size(0) == B);
    if (!is_feature_output(name)) RC_ASSERT(t.scalar_type() == policy.output_dtype());
  }
  const train::LossResult loss = train::compute_losses(out, conformed, train::LossWeights{}, policy);
  RC_ASSERT(torch::isfinite(loss.total).item<bool>());
  RC_ASSERT(loss.total.scalar_type() == policy.island_dtype());  // losses are an fp32 (fp64) island
  loss.total.backward();
  // Gradient reaches the backbone, the heads and the refinement (the whole model is live, unlike upstream).
  const auto params = model->named_parameters();
  for (const char* name : {"encoder.backbone.embeddings.patch_embeddings.projection.weight",
                           "hand.joint1.weight", "refinement.offset.1.weight", "refinement.conv0.weight"}) {
    RC_ASSERT(params.contains(name));
    const torch::Tensor g = params[name].grad();
    RC_ASSERT(g.defined());
    RC_ASSERT(torch::isfinite(g).all().item<bool>());
  }
  for (const auto& p : model->parameters()) {
    if (p.grad().defined()) RC_ASSERT(p.grad().scalar_type() == policy.param_dtype());
  }
}

}  // namespace
}  // namespace amt::model::testing
