// PrecisionPlan on the tiny model: the default plan is the policy bit for bit even with every module scope
// active; a plan that keeps every top-level module fp32 equals the fp32 policy exactly (on images exact in
// bf16, since the boundary still hands the model bf16 pixels); keeping one module changes its parameters and
// what runs after it, nothing before; a mistyped path is refused by name.
#include <gtest/gtest.h>

#include "conformance/testing/errors.hpp"
#include "reference/model/tests/amt_test_util.hpp"
#include "reference/precision/module_scope.hpp"
#include "reference/precision/plan.hpp"

namespace amt::model::testing {
namespace {

using precision::PrecisionPlan;

// A tap that watches and changes nothing: it makes every module scope look itself up and run its hooks.
class PassThroughTap : public precision::ModuleTap {
 public:
  void on_enter(const std::string& path, int64_t) override { paths.push_back(path); }
  torch::Tensor on_input(const std::string&, int64_t, int64_t, const torch::Tensor& x) override { return x; }
  void on_output(const std::string&, int64_t, int64_t, const torch::Tensor&) override {}
  std::vector<std::string> paths;
};

amt::TensorMap batch_for(const PrecisionPolicy& policy, bool bf16_exact_image = false) {
  const int64_t B = 2, H = 70, W = 98;  // 5 × 7 patches: the position table is resampled
  amt::TensorMap b;
  torch::Tensor image = random_image(B, H, W, torch::kFloat, 3);
  if (bf16_exact_image) image = image.to(torch::kBFloat16).to(torch::kFloat);
  b["image"] = image;
  b["K"] = camera_k(B, H, W);
  return precision::conform_batch(b, policy);
}

TensorMap run(const PrecisionPlan& plan, bool bf16_exact_image = false) {
  AmtModel model = make_amt_model(tiny_config(), 0, plan);
  model->eval();
  torch::NoGradGuard no_grad;
  return model->forward(batch_for(plan.policy(), bf16_exact_image), plan);
}

void expect_equal(const TensorMap& a, const TensorMap& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [name, t] : a) {
    EXPECT_EQ(t.scalar_type(), b.at(name).scalar_type()) << what << ": " << name;
    EXPECT_TRUE(torch::equal(t, b.at(name))) << what << ": " << name;
  }
}

const std::vector<std::string> kTopLevel = {"encoder", "hand", "objects", "fusion", "contacts", "refinement"};
const std::vector<std::string> kWholeModel = {"model"};

TEST(PrecisionPlan, DefaultPlanIsThePolicyBitForBitWithEveryScopeWatched) {
  for (const char* name : {"fp32", "bf16-autocast", "bf16-pure"}) {
    const PrecisionPolicy policy = PrecisionPolicy::parse(name);
    const TensorMap plain = run(policy);
    PassThroughTap tap;
    TensorMap watched;
    {
      precision::TapScope scope(tap);
      watched = run(policy);
    }
    // The scopes really ran: every top-level module and the backbone's blocks, attention and MLPs.
    for (const auto& m : kTopLevel)
      EXPECT_NE(std::find(tap.paths.begin(), tap.paths.end(), m), tap.paths.end()) << m;
    EXPECT_NE(std::find(tap.paths.begin(), tap.paths.end(), "encoder.backbone.encoder.layer.3.mlp"),
              tap.paths.end());
    EXPECT_NE(std::find(tap.paths.begin(), tap.paths.end(), "encoder.backbone.encoder.layer.0.attention"),
              tap.paths.end());
    expect_equal(plain, watched, name);
  }
}

TEST(PrecisionPlan, KeepingEveryModuleFp32EqualsTheFp32Policy) {
  const TensorMap fp32 = run(PrecisionPolicy(PolicyKind::kFp32), true);
  const TensorMap autocast_all =
      run(PrecisionPlan(PrecisionPolicy(PolicyKind::kBf16Autocast), kTopLevel), true);
  expect_equal(fp32, autocast_all, "bf16-autocast keeping everything");
  EXPECT_FALSE(torch::equal(
      fp32.at("hand_joints"),
      run(PrecisionPlan(PrecisionPolicy(PolicyKind::kBf16Pure), kTopLevel), true).at("hand_joints")))
      << "under bf16-pure the features between kept top-level modules are still bf16 (the model's own)";
  const TensorMap pure_all = run(PrecisionPlan(PrecisionPolicy(PolicyKind::kBf16Pure), kWholeModel), true);
  for (const auto& [name, t] : fp32) {
    if (is_feature_output(name)) {
      // Features leave the kept module in the caller's activation dtype (bf16): fp32's, rounded.
      EXPECT_EQ(pure_all.at(name).scalar_type(), torch::kBFloat16) << name;
      EXPECT_TRUE(torch::equal(pure_all.at(name), t.to(torch::kBFloat16))) << name;
    } else {
      EXPECT_EQ(pure_all.at(name).scalar_type(), torch::kFloat) << name;
      EXPECT_TRUE(torch::equal(pure_all.at(name), t)) << name;
    }
  }
  // And the plain policies are not fp32 (the test can fail).
  EXPECT_FALSE(torch::equal(run(PrecisionPolicy(PolicyKind::kBf16Pure), true).at("hand_joints"),
                            fp32.at("hand_joints")));
}

TEST(PrecisionPlan, KeepingOneModuleChangesItsWeightsAndWhatRunsAfterIt) {
  const PrecisionPolicy pure(PolicyKind::kBf16Pure);
  const PrecisionPlan plan(pure, {"refinement"});
  AmtModel model = make_amt_model(tiny_config(), 0, plan);
  AmtModel fp32 = make_amt_model(tiny_config(), 0, PrecisionPolicy(PolicyKind::kFp32));
  for (const auto& item : model->named_parameters()) {
    const bool kept = item.key().rfind("refinement.", 0) == 0;
    EXPECT_EQ(item.value().scalar_type(), kept ? torch::kFloat : torch::kBFloat16) << item.key();
    // Straight from fp32: a kept weight never passed through bf16.
    if (kept) {
      EXPECT_TRUE(torch::equal(item.value(), fp32->named_parameters()[item.key()])) << item.key();
    }
  }
  const TensorMap plain = run(pure), kept = run(plan);
  EXPECT_TRUE(torch::equal(plain.at("hand_joints_coarse"), kept.at("hand_joints_coarse")));
  EXPECT_TRUE(torch::equal(plain.at("object_positions"), kept.at("object_positions")));
  EXPECT_FALSE(torch::equal(plain.at("hand_joints"), kept.at("hand_joints")));
  EXPECT_EQ(plan.name(), "bf16-pure+keep-fp32(refinement)");
}

TEST(PrecisionPlan, PathsAndAncestors) {
  const PrecisionPlan plan(PrecisionPolicy(PolicyKind::kBf16Pure), {"encoder.backbone.encoder.layer.1"});
  EXPECT_TRUE(plan.keeps("encoder.backbone.encoder.layer.1"));
  EXPECT_TRUE(plan.keeps("encoder.backbone.encoder.layer.1.mlp"));
  EXPECT_FALSE(plan.keeps("encoder.backbone.encoder.layer.10"));
  EXPECT_FALSE(plan.keeps("encoder.backbone"));
  EXPECT_EQ(plan.policy_for("encoder.backbone.encoder.layer.1.mlp").kind(), PolicyKind::kFp32);
  EXPECT_EQ(plan.policy_for("hand").kind(), PolicyKind::kBf16Pure);
  // Under fp32 and fp64 a plan is its policy.
  const PrecisionPlan fp64(PrecisionPolicy(PolicyKind::kFp64), {"hand"});
  EXPECT_EQ(fp64.policy_for("hand").kind(), PolicyKind::kFp64);
  EXPECT_EQ(precision::parse_module_list(" a, b.c ,,d "), (std::vector<std::string>{"a", "b.c", "d"}));
}

TEST(PrecisionPlan, AMistypedModulePathIsRefusedByName) {
  const PrecisionPlan plan(PrecisionPolicy(PolicyKind::kBf16Pure), {"refinment"});
  const std::string msg =
      ::amt::testing::thrown_message<ConfigError>([&] { make_amt_model(tiny_config(), 0, plan); });
  EXPECT_NE(msg.find("'refinment' is not a module of the model"), std::string::npos) << msg;
  EXPECT_NE(msg.find("closest: refinement"), std::string::npos) << msg;
  const std::string bad =
      ::amt::testing::thrown_message<ConfigError>([] { PrecisionPlan(PrecisionPolicy(), {"a..b"}); });
  EXPECT_NE(bad.find("not a module path"), std::string::npos) << bad;
}

}  // namespace
}  // namespace amt::model::testing
