// V4 (batch invariance by bucketing) and V5 (token concatenation without padding rows, checked count).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "reference/core/error.hpp"
#include "reference/vision/batching.hpp"
#include "reference/vision/pixel_shuffle.hpp"
#include "reference/vision/tests/tiny_encoder.hpp"

namespace amt::vision {
namespace {

using testing::TinyEncoder;

TEST(BucketBySize, FirstAppearanceOrderAndAscendingIndices) {
  const std::vector<ImageSize> sizes{{32, 48}, {64, 64}, {32, 48}, {48, 32}, {64, 64}, {32, 48}};
  const auto buckets = bucket_by_size(sizes);
  ASSERT_EQ(buckets.size(), 3u);
  EXPECT_EQ(buckets[0].size, (ImageSize{32, 48}));
  EXPECT_EQ(buckets[0].indices, (std::vector<int64_t>{0, 2, 5}));
  EXPECT_EQ(buckets[1].indices, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(buckets[2].size, (ImageSize{48, 32}));  // transposed sizes are different buckets
  EXPECT_EQ(buckets[2].indices, (std::vector<int64_t>{3}));
  EXPECT_TRUE(bucket_by_size({}).empty());
}

// Random batches of images of random (rectangular) sizes: every image's tokens from encode_bucketed equal the
// tokens of that image encoded alone, whatever else is in the batch (V4).
RC_GTEST_PROP(BatchInvarianceProperty, BucketedFeaturesDoNotDependOnTheBatch, ()) {
  const int64_t patch = 4;
  const int64_t n = *rc::gen::inRange<int64_t>(1, 7);
  const auto seed = *rc::gen::arbitrary<uint32_t>();
  const TinyEncoder enc(patch, 8, 7);
  torch::manual_seed(seed);
  std::vector<torch::Tensor> images;
  for (int64_t i = 0; i < n; ++i) {
    // Few distinct sizes, so buckets with several members are common.
    const int64_t hp = *rc::gen::inRange<int64_t>(1, 4), wp = *rc::gen::inRange<int64_t>(1, 4);
    images.push_back(torch::randn({3, hp * patch, wp * patch}, torch::kFloat64));
  }
  int64_t calls = 0;
  const auto counting = [&](const torch::Tensor& x) {
    ++calls;
    return enc(x);
  };
  const std::vector<torch::Tensor> tokens = encode_bucketed(images, counting, patch);
  RC_ASSERT(static_cast<int64_t>(tokens.size()) == n);
  RC_ASSERT(calls == static_cast<int64_t>(bucket_by_size(image_sizes(images)).size()));
  for (int64_t i = 0; i < n; ++i) {
    const torch::Tensor alone = enc(images[static_cast<size_t>(i)].unsqueeze(0))[0];
    RC_ASSERT(tokens[static_cast<size_t>(i)].sizes() == alone.sizes());
    RC_ASSERT((tokens[static_cast<size_t>(i)] - alone).abs().max().item<double>() < 1e-12);
  }
}

TEST(EncodeBucketed, ChecksImagesAndEncoderOutput) {
  const TinyEncoder enc(4, 8, 1);
  EXPECT_THROW(encode_bucketed({torch::zeros({3, 10, 8}, torch::kFloat64)}, enc, 4), ShapeError);  // 10 % 4
  EXPECT_THROW(encode_bucketed({torch::zeros({3, 8, 8}), torch::zeros({1, 8, 8})}, enc, 4), ShapeError);
  const auto wrong = [](const torch::Tensor& x) { return torch::zeros({x.size(0), 3, 8}); };
  try {
    encode_bucketed({torch::zeros({3, 8, 8})}, wrong, 4);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("8x8"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(encode_bucketed({}, enc, 4).empty());
}

// Σ Gh·Gw rows after concatenation, each image's rows at its own offset, in order; split is the inverse (V5).
RC_GTEST_PROP(TokenConcatProperty, CountIsSumOfGridsAndOrderIsKept, ()) {
  const int64_t patch = *rc::gen::element<int64_t>(14, 16);
  const int64_t s = *rc::gen::inRange<int64_t>(1, 4);
  const int64_t n = *rc::gen::inRange<int64_t>(1, 8);
  const int64_t d = *rc::gen::inRange<int64_t>(1, 5);
  std::vector<ImageGrid> grids;
  std::vector<torch::Tensor> tokens;
  int64_t expected = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t gh = *rc::gen::inRange<int64_t>(1, 9), gw = *rc::gen::inRange<int64_t>(1, 9);
    grids.push_back(make_image_grid(gh * s * patch, gw * s * patch, patch, s));
    // Tokens as the projector emits them ([1, Gh·Gw, D]) or already squeezed; value = image index.
    torch::Tensor t = torch::full({gh * gw, d}, double(i), torch::kFloat64);
    tokens.push_back(*rc::gen::arbitrary<bool>() ? t.unsqueeze(0) : t);
    expected += gh * gw;
  }
  const torch::Tensor all = concat_image_tokens(tokens, grids);
  RC_ASSERT(all.size(0) == expected);
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = grids[static_cast<size_t>(i)].tokens();
    RC_ASSERT(torch::all(all.slice(0, offset, offset + k) == double(i)).item<bool>());
    offset += k;
  }
  const auto parts = split_image_tokens(all, grids);
  for (int64_t i = 0; i < n; ++i)
    RC_ASSERT(torch::equal(parts[static_cast<size_t>(i)], tokens[static_cast<size_t>(i)].view({-1, d})));
}

TEST(TokenConcat, CountMismatchIsAnErrorNamingTheImage) {
  const std::vector<ImageGrid> grids{make_image_grid(32, 64, 16, 1), make_image_grid(32, 32, 16, 1)};
  try {
    concat_image_tokens({torch::zeros({8, 4}), torch::zeros({3, 4})}, grids);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("image 1"), std::string::npos) << m;
    EXPECT_NE(m.find("has 3"), std::string::npos) << m;
    EXPECT_NE(m.find("= 4"), std::string::npos) << m;
  }
  EXPECT_THROW(concat_image_tokens({torch::zeros({8, 4})}, grids), ShapeError);
  EXPECT_THROW(concat_image_tokens({torch::zeros({8, 4}), torch::zeros({4, 5})}, grids), ShapeError);
  EXPECT_THROW(concat_image_tokens({}, {}), ShapeError);
  EXPECT_THROW(split_image_tokens(torch::zeros({11, 4}), grids), ShapeError);
}

}  // namespace
}  // namespace amt::vision
