// V2, V3: image grids, the 2-D pixel shuffle index map, its inverse, and the token projector.
#include <gtest/gtest.h>

#include "conformance/testing/errors.hpp"
#include "reference/core/error.hpp"
#include "reference/vision/image_grid.hpp"
#include "reference/vision/pixel_shuffle.hpp"
#include "reference/vision/token_projector.hpp"

namespace amt::vision {
namespace {

std::string message_of(const std::function<void()>& f) {
  return amt::testing::thrown_message<ShapeError>(f);
}

TEST(ImageGrid, FromTheResizedImage) {
  const ImageGrid g = make_image_grid(480, 640, 16, 2);
  EXPECT_EQ(g.hp, 30);
  EXPECT_EQ(g.wp, 40);
  EXPECT_EQ(g.gh, 15);
  EXPECT_EQ(g.gw, 20);
  EXPECT_EQ(g.tokens(), 300);
  EXPECT_EQ(g.patch_tokens(), 1200);
  EXPECT_EQ(make_image_grid(ImageSize{336, 448}, 14, 2).tokens(), 12 * 16);
}

TEST(ImageGrid, ErrorsNameBothNumbers) {
  const std::string m = message_of([] { make_image_grid(16 * 5, 16 * 4, 16, 2); });
  EXPECT_NE(m.find("Hp=5"), std::string::npos) << m;
  EXPECT_NE(m.find("s=2"), std::string::npos) << m;
  const std::string m2 = message_of([] { make_image_grid(100, 64, 16, 1); });
  EXPECT_NE(m2.find("100"), std::string::npos) << m2;
  EXPECT_NE(m2.find("16"), std::string::npos) << m2;
  EXPECT_THROW(make_image_grid(32, 32, 0, 1), ConfigError);
  EXPECT_THROW(make_image_grid(32, 32, 16, 0), ConfigError);
}

// The V3 index map on random rectangular grids, element by element, and both inverses: the property
// rect_grids.shuffle in conformance/suites.

TEST(PixelShuffle, TransposedGridsAreDifferent) {
  // 4×6 and 6×4 have the same token count; only an explicit grid tells them apart.
  const torch::Tensor x = torch::arange(24, torch::kFloat32).view({1, 24, 1});
  EXPECT_FALSE(torch::equal(pixel_shuffle_2d(x, 4, 6, 2), pixel_shuffle_2d(x, 6, 4, 2)));
  // First output token of the 4×6 grid: patches (0,0), (0,1), (1,0), (1,1) = 0, 1, 6, 7.
  EXPECT_TRUE(torch::equal(pixel_shuffle_2d(x, 4, 6, 2)[0][0], torch::tensor({0.f, 1.f, 6.f, 7.f})));
}

TEST(PixelShuffle, NonContiguousInputIsHandled) {
  const torch::Tensor base = torch::randn({2, 3, 24});
  const torch::Tensor x = base.transpose(1, 2);  // [2, 24, 3], not contiguous
  EXPECT_TRUE(torch::equal(pixel_shuffle_2d(x, 4, 6, 2), pixel_shuffle_2d(x.contiguous(), 4, 6, 2)));
}

TEST(PixelShuffle, TypedErrorsWithTheNumbers) {
  const torch::Tensor x = torch::zeros({1, 5 * 4, 3});
  const std::string m = message_of([&] { pixel_shuffle_2d(x, 5, 4, 2); });
  EXPECT_NE(m.find("Hp=5"), std::string::npos) << m;
  EXPECT_NE(m.find("Wp=4"), std::string::npos) << m;
  EXPECT_NE(m.find("s=2"), std::string::npos) << m;
  const std::string m2 = message_of([&] { pixel_shuffle_2d(x, 4, 6, 2); });  // 20 tokens, grid of 24
  EXPECT_NE(m2.find("20"), std::string::npos) << m2;
  EXPECT_NE(m2.find("24"), std::string::npos) << m2;
  EXPECT_THROW(pixel_shuffle_2d(torch::zeros({20, 3}), 5, 4, 1), ShapeError);
  EXPECT_THROW(pixel_unshuffle_2d(torch::zeros({1, 6, 5}), 4, 6, 2), ShapeError);  // 5 channels, s² = 4
  EXPECT_THROW(pixel_unshuffle_2d(torch::zeros({1, 5, 4}), 4, 6, 2), ShapeError);  // 5 tokens, grid 2×3
  EXPECT_THROW(pixel_shuffle_2d(x, 5, 4, 0), ConfigError);
}

TEST(TokenProjector, ShuffleThenLinear) {
  torch::manual_seed(0);
  TokenProjector proj(8, 2);
  const torch::Tensor x = torch::randn({3, 4 * 6, 8});
  const torch::Tensor y = proj->forward(x, 4, 6);
  EXPECT_EQ(y.sizes(), (c10::IntArrayRef{3, 6, 8}));
  EXPECT_EQ(proj->proj->weight.sizes(), (c10::IntArrayRef{8, 32}));
  const torch::Tensor expect =
      torch::nn::functional::linear(pixel_shuffle_2d(x, 4, 6, 2), proj->proj->weight, proj->proj->bias);
  EXPECT_TRUE(torch::allclose(y, expect));
  EXPECT_TRUE(torch::equal(proj->forward(x, make_image_grid(64, 96, 16, 2)), y));
  EXPECT_THROW(proj->forward(torch::randn({3, 24, 7}), 4, 6), ShapeError);
  EXPECT_THROW(proj->forward(x, 3, 8), ShapeError);
  EXPECT_THROW(TokenProjector(0, 2), ConfigError);
}

}  // namespace
}  // namespace amt::vision
