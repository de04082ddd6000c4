// V7: the dummy batch has a grid divisible by s, every label masked, and contributes exactly zero loss and
// zero gradient.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "reference/core/error.hpp"
#include "reference/vision/dummy_batch.hpp"
#include "reference/vision/pixel_shuffle.hpp"
#include "reference/vision/tests/tiny_model.hpp"

namespace amt::vision {
namespace {

using testing::TinyModel;

TensorMap label_template() {
  return {{"joint_3d", torch::zeros({21, 3})}, {"joint_valid", torch::ones({21}, torch::kBool)}};
}

TEST(DummyBatch, ValidGridAndMaskedLabels) {
  for (int64_t patch : {14, 16}) {
    for (int64_t s : {1, 2, 3}) {
      const Batch b = make_dummy_batch(patch, s, label_template());
      EXPECT_TRUE(b.dummy);
      ASSERT_EQ(b.size(), 1);
      EXPECT_EQ(b.grids[0], make_image_grid(patch * s, patch * s, patch, s));
      EXPECT_EQ(b.grids[0].hp % s, 0);
      EXPECT_EQ(b.grids[0].tokens(), 1);
      EXPECT_EQ(b.images[0].sizes(), (c10::IntArrayRef{3, patch * s, patch * s}));
      EXPECT_FALSE(b.valid[0].item<bool>());
      EXPECT_FALSE(b.has_hand[0].item<bool>());
      EXPECT_EQ(b.labels.at("joint_3d").sizes(), (c10::IntArrayRef{1, 21, 3}));
      EXPECT_FALSE(b.labels.at("joint_valid").any().item<bool>());  // bool masks are all false
      EXPECT_EQ(b.K[0][2][2].item<float>(), 1.0f);
      EXPECT_GT(b.K[0][0][0].item<float>(), 0.0f);
      // The projector accepts it.
      EXPECT_NO_THROW(pixel_shuffle_2d(torch::zeros({1, s * s, 4}), b.grids[0].hp, b.grids[0].wp, s));
    }
  }
  EXPECT_THROW(make_dummy_batch(0, 2), ConfigError);
}

// The zero-loss/zero-gradient property on the real model is dummy.zero_loss_zero_grad (conformance/suites).

// In lock-step training the dummy's backward is accumulated with real steps: it must leave the gradients
// exactly as the real batch alone left them.
TEST(DummyBatch, AccumulatingADummyChangesNothing) {
  torch::manual_seed(3);
  const int64_t patch = 4, s = 2;
  TinyModel model(patch, s, 6);
  std::vector<ImageSample> samples;
  for (int64_t i = 0; i < 3; ++i) {
    ImageSample x;
    x.id = i;
    x.image = torch::randn({3, 16, 8 * (i + 1)});
    x.grid = make_image_grid(16, 8 * (i + 1), patch, s);
    x.K = torch::eye(3);
    x.original_size = {16, 8 * (i + 1)};
    x.has_hand = i != 1;
    x.labels["joint_3d"] = torch::randn({21, 3});
    x.labels["joint_valid"] = torch::ones({21}, torch::kBool);
    samples.push_back(x);
  }
  const Batch real = collate(samples);
  testing::hand_loss(real, model->forward(real)).backward();
  std::vector<torch::Tensor> reference;
  for (const auto& p : model->parameters()) reference.push_back(p.grad().clone());
  EXPECT_GT(torch::count_nonzero(reference.back()).item<int64_t>(), 0);

  const Batch dummy = make_dummy_batch(patch, s, label_template());
  testing::hand_loss(dummy, model->forward(dummy)).backward();
  const auto params = model->parameters();
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(torch::equal(params[i].grad(), reference[i]));
}

}  // namespace
}  // namespace amt::vision
