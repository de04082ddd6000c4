// P1: the one boundary. Reproduces the seed errors and shows that the boundary makes the same calls work.
#include "reference/precision/boundary.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <torch/torch.h>

#include "reference/core/error.hpp"
#include "reference/precision/autocast_guard.hpp"
#include "reference/precision/faults.hpp"
#include "reference/precision/islands.hpp"

namespace amt::precision {
namespace {

const std::vector<std::string> kPolicies = {"fp32", "bf16-autocast", "bf16-pure", "fp64"};

torch::Tensor pinhole_K(int64_t batch, torch::ScalarType dtype) {
  auto K = torch::zeros({batch, 3, 3}, torch::kDouble);
  K.select(1, 0).select(1, 0).fill_(617.343);
  K.select(1, 1).select(1, 1).fill_(617.343);
  K.select(1, 0).select(1, 2).fill_(312.42);
  K.select(1, 1).select(1, 2).fill_(239.99);
  K.select(1, 2).select(1, 2).fill_(1.0);
  return K.to(dtype);
}

// A tiny stand-in for the model: conv features from the image, a Linear → LayerNorm head producing 3-D
// points, projection with K. Exactly the op mix of the seed reports, with no cast of its own.
struct TinyModel : torch::nn::Module {
  torch::nn::Conv2d conv{torch::nn::Conv2dOptions(3, 8, 4).stride(4)};
  torch::nn::Linear head{8, 8};
  torch::nn::LayerNorm norm{torch::nn::LayerNormOptions({8})};
  torch::nn::Linear to_points{8, 6};
  TinyModel() {
    register_module("conv", conv);
    register_module("head", head);
    register_module("norm", norm);
    register_module("to_points", to_points);
  }
  torch::Tensor forward(const TensorMap& batch, const PrecisionPolicy& policy) {
    const torch::Tensor f = conv(batch.at("image")).mean({2, 3});
    const torch::Tensor h = layer_norm(head(f), norm->weight, norm->bias, 1e-5, policy);
    const torch::Tensor pts = to_points(h).view({-1, 2, 3}) + torch::tensor({0.0, 0.0, 0.6}, h.options());
    return project_points(pts, batch.at("K"), torch::Tensor(), policy).uv;
  }
};

TEST(SeedErrors, MatmulOfBf16ByFp32ThrowsTheSeedMessage) {
  const auto points = torch::randn({2, 5, 3}).to(torch::kBFloat16);
  const auto K = pinhole_K(2, torch::kFloat);
  try {
    torch::matmul(points, K.transpose(-1, -2));
    FAIL() << "LibTorch accepted bf16 @ fp32; the seed error no longer reproduces";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected scalar type BFloat16 but found Float"), std::string::npos)
        << e.what();
  }
}

TEST(SeedErrors, Bf16ImagesIntoAnFp32ConvThrow) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 4, 2));
  EXPECT_THROW(conv(torch::randn({1, 3, 8, 8}).to(torch::kBFloat16)), c10::Error);
}

TEST(SeedErrors, TheSameCallsWorkThroughTheBoundaryUnderEveryPolicy) {
  for (const std::string& name : kPolicies) {
    SCOPED_TRACE(name);
    const PrecisionPolicy policy = PrecisionPolicy::parse(name);
    torch::manual_seed(0);
    TinyModel model;
    apply_param_dtype(model, policy);
    // What the seed's cached dataset delivered: bf16 images, fp32 K.
    const TensorMap raw = {{"image", torch::randn({2, 3, 16, 16}).to(torch::kBFloat16)},
                           {"K", pinhole_K(2, torch::kFloat)}};
    const TensorMap batch = conform_batch(raw, policy);
    AutocastGuard autocast(policy);
    torch::Tensor uv;
    ASSERT_NO_THROW(uv = model.forward(batch, policy));
    EXPECT_EQ(uv.scalar_type(), policy.output_dtype());
    EXPECT_TRUE(torch::isfinite(uv).all().item<bool>());
  }
}

TEST(SeedErrors, BypassingTheImageRuleBringsTheSeedErrorBack) {
  const PrecisionPolicy policy = PrecisionPolicy::parse("fp32");
  TinyModel model;
  const TensorMap raw = {{"image", torch::randn({2, 3, 16, 16}).to(torch::kBFloat16)},
                         {"K", pinhole_K(2, torch::kFloat)}};
  ScopedFault fault("boundary.image_dtype");
  EXPECT_THROW(model.forward(conform_batch(raw, policy), policy), c10::Error);
}

TEST(SeedErrors, BypassingTheProjectionIslandBringsTheSeedErrorBack) {
  const PrecisionPolicy policy = PrecisionPolicy::parse("bf16-pure");
  TinyModel model;
  apply_param_dtype(model, policy);
  const TensorMap batch =
      conform_batch({{"image", torch::randn({2, 3, 16, 16})}, {"K", pinhole_K(2, torch::kFloat)}}, policy);
  ScopedFault fault("island.projection_no_cast");
  try {
    model.forward(batch, policy);
    FAIL() << "no error with the projection island bypassed";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected scalar type BFloat16 but found Float"), std::string::npos);
  }
}

TEST(Boundary, Uint8ImagesAreScaledAndImageNetNormalised) {
  auto img = torch::zeros({1, 3, 2, 2}, torch::kByte);
  img.select(1, 0).fill_(255);
  img.select(1, 2).fill_(128);
  const auto out = conform_image(img, PrecisionPolicy::parse("fp64"));
  ASSERT_EQ(out.scalar_type(), torch::kDouble);
  EXPECT_NEAR(out[0][0][0][0].item<double>(), (1.0 - 0.485) / 0.229, 1e-12);
  EXPECT_NEAR(out[0][1][0][0].item<double>(), (0.0 - 0.456) / 0.224, 1e-12);
  EXPECT_NEAR(out[0][2][1][1].item<double>(), (128.0 / 255.0 - 0.406) / 0.225, 1e-12);
}

TEST(Boundary, RejectsNonFiniteImagesNamingTheField) {
  auto img = torch::zeros({1, 3, 4, 4});
  img[0][1][2][3] = std::numeric_limits<float>::quiet_NaN();
  try {
    conform_batch({{"image", img}}, PrecisionPolicy());
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'image'"), std::string::npos) << e.what();
  }
}

TEST(Boundary, RejectsDegenerateCamerasNamingFieldAndItem) {
  auto K = pinhole_K(3, torch::kFloat);
  K[2][1][1] = 0.0f;
  try {
    conform_batch({{"K", K}}, PrecisionPolicy());
    FAIL();
  } catch (const ValueError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'K' item 2"), std::string::npos) << what;
  }
  auto K2 = pinhole_K(1, torch::kFloat);
  K2[0][2][2] = 0.0f;
  EXPECT_THROW(conform_batch({{"K", K2}}, PrecisionPolicy()), ValueError);
  auto K3 = pinhole_K(1, torch::kFloat);
  K3[0][0][2] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(conform_batch({{"K", K3}}, PrecisionPolicy()), ValueError);
}

TEST(Boundary, RejectsWrongDtypesAndShapesNamingTheField) {
  EXPECT_THROW(conform_batch({{"image", torch::zeros({1, 3, 4, 4}, torch::kInt)}}, PrecisionPolicy()),
               DtypeError);
  EXPECT_THROW(conform_batch({{"image", torch::zeros({1, 4, 4, 4})}}, PrecisionPolicy()), ShapeError);
  EXPECT_THROW(conform_batch({{"K", torch::eye(3, torch::kLong).unsqueeze(0)}}, PrecisionPolicy()),
               DtypeError);
  try {
    conform_batch({{"E", torch::zeros({1, 3, 4})}}, PrecisionPolicy());
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("'E'"), std::string::npos);
  }
}

// Property: any mix of incoming dtypes is conformed to exactly what the policy promises, values preserved.
RC_GTEST_PROP(BoundaryProperty, ConformsEveryDtypeMixToThePolicy, ()) {
  const auto policy_name = *rc::gen::elementOf(kPolicies);
  const auto image_dtype =
      *rc::gen::element(torch::kByte, torch::kHalf, torch::kBFloat16, torch::kFloat, torch::kDouble);
  const auto k_dtype = *rc::gen::element(torch::kHalf, torch::kBFloat16, torch::kFloat, torch::kDouble);
  const auto label_dtype = *rc::gen::element(torch::kHalf, torch::kBFloat16, torch::kFloat, torch::kDouble);
  const int64_t batch = *rc::gen::inRange(1, 5);
  const int64_t h = *rc::gen::inRange(1, 9), w = *rc::gen::inRange(1, 9);
  const auto seed = *rc::gen::inRange<int64_t>(0, 1 << 30);
  torch::manual_seed(seed);
  const PrecisionPolicy policy = PrecisionPolicy::parse(policy_name);

  const torch::Tensor image = image_dtype == torch::kByte
                                  ? torch::randint(0, 256, {batch, 3, h, w}, torch::kByte)
                                  : torch::randn({batch, 3, h, w}).to(image_dtype);
  const TensorMap raw = {
      {"image", image},
      {"K", pinhole_K(batch, k_dtype)},
      {"E", torch::eye(4).expand({batch, 4, 4}).to(k_dtype)},
      {"joint_3d", torch::randn({batch, 21, 3}).to(label_dtype)},
      {"has_hand", torch::rand({batch}) > 0.5},
      {"object_id", torch::randint(0, 20, {batch}, torch::kLong)},
  };
  const TensorMap out = conform_batch(raw, policy);
  RC_ASSERT(out.at("image").scalar_type() == policy.activation_dtype());
  RC_ASSERT(out.at("K").scalar_type() == policy.island_dtype());
  RC_ASSERT(out.at("E").scalar_type() == policy.island_dtype());
  RC_ASSERT(out.at("joint_3d").scalar_type() == policy.island_dtype());
  RC_ASSERT(out.at("has_hand").scalar_type() == torch::kBool);
  RC_ASSERT(out.at("object_id").scalar_type() == torch::kLong);
  RC_ASSERT(torch::equal(out.at("has_hand"), raw.at("has_hand")));
  RC_ASSERT(torch::equal(out.at("object_id"), raw.at("object_id")));
  // Labels and cameras are exactly the input rounded once to the island dtype (never via a narrower dtype).
  RC_ASSERT(torch::equal(out.at("joint_3d"), raw.at("joint_3d").to(policy.island_dtype())));
  RC_ASSERT(torch::equal(out.at("K"), raw.at("K").to(policy.island_dtype())));
  if (image_dtype != torch::kByte) {
    const double err =
        (out.at("image").to(torch::kDouble) - image.to(torch::kDouble)).abs().max().item<double>();
    const double ulp =
        policy.activation_dtype() == torch::kBFloat16 ? 1.0 / 64 : 1e-3;  // bf16 rounds; others exact
    RC_ASSERT(err <= ulp * std::max(1.0, image.to(torch::kDouble).abs().max().item<double>()));
  }
}

}  // namespace
}  // namespace amt::precision
