// Checked arithmetic: exact results in range, a typed error naming the computation on overflow.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "reference/core/checked.hpp"
#include "reference/core/limits.hpp"
#include "reference/vision/dynamic_resize.hpp"
#include "reference/vision/pixel_shuffle.hpp"

namespace amt {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

TEST(Checked, InRangeIsExact) {
  EXPECT_EQ(checked_mul(3037000499, 3037000499, "x"), 3037000499LL * 3037000499LL);
  EXPECT_EQ(checked_add(kMax - 1, 1, "x"), kMax);
  EXPECT_EQ(checked_stride_product({0, 5, 7}, 4, "x"), 140);
}

TEST(Checked, OverflowNamesTheComputation) {
  try {
    checked_mul(kMax / 2 + 1, 2, "patch × shuffle");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("patch × shuffle"), std::string::npos);
  }
  EXPECT_THROW(checked_add(kMax, 1, "x"), ValueError);
  EXPECT_THROW(checked_mul(-1, 2, "x"), ValueError);
  EXPECT_THROW(checked_stride_product({0, int64_t{1} << 62, 4}, 4, "x"), ValueError);
}

// The resize rule multiplies the short side by the new long side: huge sizes are an error, not a wrapped
// side.
TEST(Checked, ResizeOfAbsurdSizesIsATypedError) {
  // Under the default image-side ceiling max_side is refused first; lifted, the product itself is checked.
  EXPECT_THROW(vision::dynamic_resize_target({int64_t{1} << 40, int64_t{1} << 40}, int64_t{1} << 30,
                                             int64_t{1} << 30, true),
               LimitError);
  const ScopedLimits unlimited({int64_t{1} << 40, int64_t{1} << 40, int64_t{1} << 40});
  EXPECT_THROW(vision::dynamic_resize_target({int64_t{1} << 40, int64_t{1} << 40}, int64_t{1} << 30,
                                             int64_t{1} << 30, true),
               ValueError);
}

// A grid of 2^32 × 2^32 patches with s = 2^32 passes the divisibility checks; s² overflows.
TEST(Checked, UnshuffleWithAnOverflowingFactorIsATypedError) {
  const int64_t big = int64_t{1} << 32;
  try {
    vision::pixel_unshuffle_2d(torch::zeros({1, 1, 4}), big, big, big);
    FAIL() << "no error";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("s²"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace amt
