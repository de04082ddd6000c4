// The resource ceilings: defaults, the environment variables, and the one-line LimitError of each check.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "reference/core/limits.hpp"

namespace amt {
namespace {

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Sets one environment variable for a scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(Limits, DefaultsAreTheDocumentedOnes) {
  const Limits d;
  EXPECT_EQ(d.max_image_side, 8192);
  EXPECT_EQ(d.max_tokens, 65536);
  EXPECT_EQ(d.max_tensor_bytes, int64_t{4} << 30);
}

TEST(Limits, TheEnvironmentOverridesEachCeiling) {
  ScopedEnv a("AMT_MAX_IMAGE_SIDE", "1024"), b("AMT_MAX_TOKENS", "77"), c("AMT_MAX_TENSOR_BYTES", "3G");
  const Limits l = limits_from_environment();
  EXPECT_EQ(l.max_image_side, 1024);
  EXPECT_EQ(l.max_tokens, 77);
  EXPECT_EQ(l.max_tensor_bytes, int64_t{3} << 30);
  ScopedEnv k("AMT_MAX_TENSOR_BYTES", "512k");
  EXPECT_EQ(limits_from_environment().max_tensor_bytes, 512 << 10);
  ScopedEnv m("AMT_MAX_TENSOR_BYTES", "12345");
  EXPECT_EQ(limits_from_environment().max_tensor_bytes, 12345);
}

TEST(Limits, AMalformedEnvironmentValueIsAConfigErrorNamingTheVariable) {
  for (const char* bad : {"abc", "-5", "0", "12x", "1.5", "99999999999999999999", "9999999999G"}) {
    ScopedEnv e("AMT_MAX_TENSOR_BYTES", bad);
    try {
      limits_from_environment();
      ADD_FAILURE() << bad << " accepted";
    } catch (const ConfigError& err) {
      EXPECT_TRUE(has(err.what(), "AMT_MAX_TENSOR_BYTES='" + std::string(bad) + "'")) << err.what();
    }
  }
  ScopedEnv s("AMT_MAX_IMAGE_SIDE", "4K");  // suffixes are for bytes only
  EXPECT_THROW(limits_from_environment(), ConfigError);
}

TEST(Limits, ChecksPassAtTheCeilingAndThrowOneLineAboveIt) {
  ScopedLimits scope({100, 50, 1000});
  EXPECT_NO_THROW(check_image_side(100, 100, "x"));
  EXPECT_NO_THROW(check_token_count(50, "x"));
  EXPECT_NO_THROW(check_tensor_bytes(1000, "x"));
  try {
    check_image_side(100, 101, "a.jpg: image header");
    FAIL();
  } catch (const LimitError& e) {
    EXPECT_EQ(std::string(e.what()),
              "a.jpg: image header: 100x101 exceeds the image-side ceiling 100 (AMT_MAX_IMAGE_SIDE)");
  }
  try {
    check_token_count(51, "grid");
    FAIL();
  } catch (const LimitError& e) {
    EXPECT_TRUE(has(e.what(), "51 patch tokens exceed the ceiling 50 (AMT_MAX_TOKENS)")) << e.what();
  }
  try {
    check_tensor_bytes(1001, "f.npy [x]");
    FAIL();
  } catch (const LimitError& e) {
    EXPECT_TRUE(has(e.what(), "f.npy [x]: 1001 bytes exceed the tensor-bytes ceiling 1000")) << e.what();
  }
}

TEST(Limits, ScopedLimitsRestoresAndSetLimitsRefusesZero) {
  const Limits before = limits();
  {
    ScopedLimits scope({1, 1, 1});
    EXPECT_EQ(limits().max_image_side, 1);
    EXPECT_THROW(check_image_side(2, 1, "x"), LimitError);
  }
  EXPECT_EQ(limits().max_image_side, before.max_image_side);
  EXPECT_THROW(set_limits({0, 1, 1}), ConfigError);
}

}  // namespace
}  // namespace amt
