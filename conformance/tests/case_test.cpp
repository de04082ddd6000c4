// Cases: JSON round trip (replay files), typed errors for malformed case JSON, deterministic batches.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "conformance/lib/case.hpp"
#include "conformance/lib/outcome.hpp"
#include "reference/core/error.hpp"

namespace amt::conformance {
namespace {

Case example() {
  Case c;
  c.property = "dtype_mix.forward";
  c.backbone = "dinov3";
  c.shuffle = 2;
  c.policy = "bf16-pure";
  c.image_dtype = torch::kByte;
  c.k_dtype = torch::kHalf;
  c.with_e = true;
  c.e_dtype = torch::kBFloat16;
  c.label_dtype = torch::kDouble;
  c.batch = 3;
  c.height = 64;
  c.width = 96;
  c.seed = 12345;
  return c;
}

TEST(Case, JsonRoundTripIsExact) {
  const Case c = example();
  const Case back = case_from_json(case_to_json(c), "test");
  EXPECT_EQ(case_to_json(back), case_to_json(c));
  EXPECT_EQ(describe(back), describe(c));
}

TEST(Case, MalformedJsonNamesTheField) {
  nlohmann::json j = case_to_json(example());
  j.erase("k_dtype");
  try {
    case_from_json(j, "replay.json");
    FAIL() << "no error";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.field(), "k_dtype");
    EXPECT_NE(std::string(e.what()).find("replay.json"), std::string::npos);
  }
  j = case_to_json(example());
  j["image_dtype"] = "f8";
  EXPECT_THROW(case_from_json(j, "x"), FormatError);
  j = case_to_json(example());
  j["batch"] = 0;
  EXPECT_THROW(case_from_json(j, "x"), FormatError);
}

TEST(Case, BatchIsDeterministicAndHasTheCaseDtypes) {
  const Case c = example();
  const TensorMap a = make_case_batch(c), b = make_case_batch(c);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b.at(name))) << name;
  EXPECT_EQ(a.at("image").scalar_type(), torch::kByte);
  EXPECT_EQ(a.at("image").sizes(), (std::vector<int64_t>{3, 3, 64, 96}));
  EXPECT_EQ(a.at("K").scalar_type(), torch::kHalf);
  EXPECT_EQ(a.at("E").scalar_type(), torch::kBFloat16);
  EXPECT_EQ(a.at("joint_3d").scalar_type(), torch::kDouble);
  Case other = c;
  other.seed = 1;
  EXPECT_FALSE(torch::equal(make_case_batch(other).at("image"), a.at("image")));
}

// The task-unit measures are exact on dyadic cases.
TEST(Measures, PointErrorIsTheLargestEuclideanDistance) {
  const torch::Tensor want = torch::zeros({1, 2, 3}, torch::kDouble);
  torch::Tensor got = want.clone();
  got[0][1][0] = 0.003;
  got[0][1][1] = 0.004;  // 5 mm
  const Measure m = point_error(got, want, 1000.0);
  EXPECT_NEAR(m.value, 5.0, 1e-9);
  EXPECT_NE(m.detail.find("(0, 1, 1)"), std::string::npos) << m.detail;
}

TEST(Measures, RotationErrorInDegrees) {
  // Identity vs a 90° rotation about z, both well conditioned.
  const torch::Tensor id = torch::tensor({1.0, 0.0, 0.0, 0.0, 1.0, 0.0}).view({1, 6});
  const torch::Tensor rz = torch::tensor({0.0, 1.0, 0.0, -1.0, 0.0, 0.0}).view({1, 6});
  EXPECT_NEAR(rotation_error_deg(rz, id).value, 90.0, 1e-6);
  EXPECT_NEAR(rotation_error_deg(id, id).value, 0.0, 1e-6);
}

TEST(Outcome, FirstFailureLineNamesValueBudgetAndUnit) {
  Outcome o;
  o.budget_check("hand_joints", "joints_mm", "bf16-pure", 1e6, "worst element (0, 1, 2)");
  o.require(true, "dtype", "dtype", "");
  ASSERT_FALSE(o.ok());
  const std::string line = o.summary();
  EXPECT_NE(line.find("hand_joints 1e+06 mm > "), std::string::npos) << line;
  EXPECT_NE(line.find("(joints_mm@bf16-pure)"), std::string::npos) << line;
  Outcome nan;
  nan.budget_check("x", "joints_mm", "fp32", std::nan(""));
  EXPECT_FALSE(nan.ok());
}

}  // namespace
}  // namespace amt::conformance
