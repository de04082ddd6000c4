#include "reference/precision/policy.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "reference/core/error.hpp"
#include "reference/precision/autocast_guard.hpp"

namespace amt::precision {
namespace {

TEST(PrecisionPolicy, DtypeTableMatchesDesign) {
  struct Row {
    const char* name;
    torch::ScalarType param, activation, compute, island, output;
    bool autocast;
  };
  const Row rows[] = {
      {"fp32", torch::kFloat, torch::kFloat, torch::kFloat, torch::kFloat, torch::kFloat, false},
      {"bf16-autocast", torch::kFloat, torch::kFloat, torch::kBFloat16, torch::kFloat, torch::kFloat, true},
      {"bf16-pure", torch::kBFloat16, torch::kBFloat16, torch::kBFloat16, torch::kFloat, torch::kFloat,
       false},
      {"fp64", torch::kDouble, torch::kDouble, torch::kDouble, torch::kDouble, torch::kDouble, false},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.name);
    const PrecisionPolicy p = PrecisionPolicy::parse(r.name);
    EXPECT_EQ(p.name(), r.name);
    EXPECT_EQ(p.param_dtype(), r.param);
    EXPECT_EQ(p.activation_dtype(), r.activation);
    EXPECT_EQ(p.compute_dtype(), r.compute);
    EXPECT_EQ(p.island_dtype(), r.island);
    EXPECT_EQ(p.output_dtype(), r.output);
    EXPECT_EQ(p.uses_autocast(), r.autocast);
  }
}

TEST(PrecisionPolicy, Fp16ComputeIsRefusedOnCpuNamingTheMissingKernels) {
  for (const char* name : {"fp16-autocast", "fp16-pure"}) {
    try {
      PrecisionPolicy::parse(name, torch::kCPU);
      FAIL() << name << " was accepted on the CPU";
    } catch (const UnsupportedError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(name), std::string::npos) << what;
      EXPECT_NE(what.find("AVX512-FP16"), std::string::npos) << what;
      EXPECT_NE(what.find("loss scaling"), std::string::npos) << what;
    }
  }
}

TEST(PrecisionPolicy, Fp16KernelsExistOnTheCpuSinceLibTorch2) {
  // LibTorch 1.13 threw here, and the refusal named the missing kernels; 2.13 has them, so the refusal now
  // rests on their speed (1 GFLOP/s without AVX512-FP16, docs/libtorch-upgrade.md) and on loss scaling. If
  // they vanish, revisit it.
  const auto h = torch::ones({2, 2}, torch::kHalf);
  EXPECT_NO_THROW(torch::mm(h, h));
  EXPECT_NO_THROW(torch::layer_norm(h, {2}));
}

TEST(PrecisionPolicy, UnknownNameIsAConfigErrorListingKnownNames) {
  try {
    PrecisionPolicy::parse("bf16");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bf16-autocast"), std::string::npos);
  }
}

TEST(PrecisionPolicy, AvailableOnCpuExcludesFp16) {
  const auto all = PrecisionPolicy::available(torch::kCPU);
  ASSERT_EQ(all.size(), 4u);
  for (const auto& p : all) EXPECT_EQ(p.name().find("fp16"), std::string::npos);
}

TEST(PrecisionPolicy, ApplyParamDtypeCastsEveryParameter) {
  torch::nn::Linear lin(4, 3);
  apply_param_dtype(*lin, PrecisionPolicy::parse("bf16-pure"));
  for (const auto& p : lin->parameters()) EXPECT_EQ(p.scalar_type(), torch::kBFloat16);
  apply_param_dtype(*lin, PrecisionPolicy::parse("fp64"));
  for (const auto& p : lin->parameters()) EXPECT_EQ(p.scalar_type(), torch::kDouble);
}

TEST(AutocastGuard, EnablesBf16MatmulAndRestoresOnExit) {
  const auto x = torch::randn({2, 4});
  torch::nn::Linear lin(4, 3);
  ASSERT_FALSE(autocast_enabled(torch::kCPU));
  {
    AutocastGuard guard(PrecisionPolicy::parse("bf16-autocast"));
    EXPECT_TRUE(autocast_enabled(torch::kCPU));
    EXPECT_EQ(lin(x).scalar_type(), torch::kBFloat16);
    {
      AutocastGuard nested(PrecisionPolicy::parse("bf16-autocast"));
      EXPECT_EQ(lin(x).scalar_type(), torch::kBFloat16);
    }
    EXPECT_TRUE(autocast_enabled(torch::kCPU)) << "inner guard must not switch the outer region off";
    {
      AutocastDisabled off;
      EXPECT_EQ(lin(x).scalar_type(), torch::kFloat);
    }
    EXPECT_EQ(lin(x).scalar_type(), torch::kBFloat16);
  }
  EXPECT_FALSE(autocast_enabled(torch::kCPU));
  EXPECT_EQ(lin(x).scalar_type(), torch::kFloat);
}

TEST(AutocastGuard, NonAutocastPoliciesLeaveAutocastOff) {
  for (const char* name : {"fp32", "bf16-pure", "fp64"}) {
    AutocastGuard guard(PrecisionPolicy::parse(name));
    EXPECT_FALSE(autocast_enabled(torch::kCPU)) << name;
  }
}

TEST(AutocastGuard, RestoresStateWhenAnExceptionUnwinds) {
  try {
    AutocastGuard guard(PrecisionPolicy::parse("bf16-autocast"));
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  EXPECT_FALSE(autocast_enabled(torch::kCPU));
}

// One forward = one AutocastGuard region. A weight changed in place between two regions shows whether the
// second region reused the first one's bf16 copy (the stale value) or cast again (the new value).
torch::Tensor bf16_matmul_in_its_own_region(const torch::Tensor& x, const torch::Tensor& w) {
  AutocastGuard region(PrecisionPolicy::parse("bf16-autocast"));
  return torch::mm(x, w);
}

TEST(WeightCastCache, KeepsTheBf16CopiesOfTheWeightsAcrossAutocastRegions) {
  const torch::Tensor x = torch::ones({1, 2});
  const torch::Tensor w = torch::ones({2, 2}).requires_grad_(true);  // a parameter: a leaf that needs grad
  torch::NoGradGuard no_grad;
  {
    WeightCastCache cache(PrecisionPolicy::parse("bf16-autocast"));
    const torch::Tensor first = bf16_matmul_in_its_own_region(x, w);
    w.fill_(2.0);
    EXPECT_TRUE(torch::equal(bf16_matmul_in_its_own_region(x, w), first))
        << "inside the cache the second region must reuse the first region's cast of w";
  }
  // The scope has ended: the cache is gone, so the new value is cast.
  EXPECT_EQ(bf16_matmul_in_its_own_region(x, w)[0][0].item<float>(), 4.0f);
  // Without the scope each region casts again.
  const torch::Tensor before = bf16_matmul_in_its_own_region(x, w);
  w.fill_(3.0);
  EXPECT_FALSE(torch::equal(bf16_matmul_in_its_own_region(x, w), before));
}

TEST(WeightCastCache, RefusesToOpenWhileGradModeIsOn) {
  EXPECT_THROW(WeightCastCache(PrecisionPolicy::parse("bf16-autocast")), UnsupportedError);
  for (const char* name : {"fp32", "bf16-pure"})
    EXPECT_NO_THROW(WeightCastCache(PrecisionPolicy::parse(name)));
}

}  // namespace
}  // namespace amt::precision
