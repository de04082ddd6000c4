// Seed 004 (DINOv3 high-resolution troubleshooting): each of its five pitfalls reproduced — the buggy
// behaviour's effect, through upstream's function or the fault switch that re-introduces it — and shown
// prevented by ours.
#include <gtest/gtest.h>

#include "reference/core/error.hpp"
#include "reference/precision/faults.hpp"
#include "reference/vision/batching.hpp"
#include "reference/vision/collator.hpp"
#include "reference/vision/dummy_batch.hpp"
#include "reference/vision/dynamic_resize.hpp"
#include "reference/vision/pixel_shuffle.hpp"
#include "reference/vision/tests/tiny_encoder.hpp"
#include "reference/vision/tests/tiny_model.hpp"

namespace amt::vision {
namespace {

// --- Pitfall 1: "AssertionError in pixel_shuffle ... sequence length not square"
// ---------------------------------
TEST(Seed004Pitfall1SquareOnlyShuffle, UpstreamFailsOnRectangularGrid) {
  const torch::Tensor rect = torch::randn({1, 30 * 40, 8});  // 480×640 at patch 16
  EXPECT_THROW(pixel_shuffle_square_upstream(rect, 2), ShapeError);
  // It only ever worked for squares.
  EXPECT_EQ(pixel_shuffle_square_upstream(torch::randn({1, 36, 8}), 2).sizes(), (c10::IntArrayRef{1, 9, 32}));
  // Even when N happens to be square, a rectangular grid is shuffled as the wrong square: 4×9 read as 6×6.
  const torch::Tensor x = torch::arange(36, torch::kFloat32).view({1, 36, 1});
  EXPECT_FALSE(torch::equal(pixel_shuffle_square_upstream(x, 3), pixel_shuffle_2d(x, 3, 12, 3)));
}

TEST(Seed004Pitfall1SquareOnlyShuffle, FaultReintroducesItAndGridPreventsIt) {
  const torch::Tensor rect = torch::randn({2, 30 * 40, 8});
  {
    ScopedFault fault("vision.shuffle_square_only");
    EXPECT_THROW(pixel_shuffle_2d(rect, 30, 40, 2), ShapeError);
  }
  const torch::Tensor y = pixel_shuffle_2d(rect, 30, 40, 2);
  EXPECT_EQ(y.sizes(), (c10::IntArrayRef{2, 15 * 20, 32}));
  EXPECT_TRUE(torch::equal(pixel_unshuffle_2d(y, 30, 40, 2), rect));
}

// --- Pitfall 2: "Sizes of tensors must match" → padding before concatenation
// ---------------------------------------
TEST(Seed004Pitfall2Padding, PaddedConcatenationShiftsLaterImages) {
  // Image 0 has 2×3 = 6 tokens, image 1 has 4×4 = 16; rows hold the image index + 1.
  const std::vector<ImageGrid> grids{make_image_grid(2 * 16, 3 * 16, 16, 1),
                                     make_image_grid(4 * 16, 4 * 16, 16, 1)};
  const std::vector<torch::Tensor> tokens{torch::full({6, 4}, 1.0), torch::full({16, 4}, 2.0)};
  const torch::Tensor padded = concat_tokens_padded_upstream(tokens);
  EXPECT_EQ(padded.size(0), 32);  // not 6 + 16 = 22: ten padding rows inside the sequence
  EXPECT_EQ(padded[6].abs().sum().item<double>(), 0.0);  // the row where image 1 should start is padding
  {
    ScopedFault fault("vision.concat_pad_tokens");
    EXPECT_NE(concat_image_tokens(tokens, grids).size(0), 22);
  }
  const torch::Tensor ours = concat_image_tokens(tokens, grids);
  EXPECT_EQ(ours.size(0), 22);
  EXPECT_TRUE(torch::all(ours.slice(0, 0, 6) == 1.0).item<bool>());
  EXPECT_TRUE(torch::all(ours.slice(0, 6, 22) == 2.0).item<bool>());
}

TEST(Seed004Pitfall2Padding, PaddedPixelsChangeFeaturesBucketingDoesNot) {
  const testing::TinyEncoder enc(4, 8, 11);
  torch::manual_seed(5);
  const torch::Tensor small = torch::randn({3, 8, 12}, torch::kFloat64);  // 2×3 patches
  const torch::Tensor big = torch::randn({3, 16, 16}, torch::kFloat64);   // 4×4 patches
  const torch::Tensor alone = enc(small.unsqueeze(0))[0];

  // Upstream: pad to 16×16, one unmasked pass, keep the first 6 tokens. The small image's features now depend
  // on its batch-mate (attention to padding, positions of the padded grid, and the wrong tokens kept).
  const auto padded = encode_padded_upstream({small, big}, enc, 4);
  EXPECT_GT((padded[0] - alone).abs().max().item<double>(), 1e-2);
  {
    ScopedFault fault("vision.batch_pad_without_mask");
    EXPECT_GT((encode_bucketed({small, big}, enc, 4)[0] - alone).abs().max().item<double>(), 1e-2);
  }
  // Even a mask would not save upstream's crop: the first 6 row-major tokens of a 4-wide grid are not the 2×3
  // image's tokens (which sit at 0,1,2 and 4,5,6).
  const auto ours = encode_bucketed({small, big}, enc, 4);
  EXPECT_LT((ours[0] - alone).abs().max().item<double>(), 1e-12);
  EXPECT_LT((ours[1] - enc(big.unsqueeze(0))[0]).abs().max().item<double>(), 1e-12);
}

// --- Pitfall 3: dummy batch with grid (1, 1) not divisible by s = 2
// -----------------------------------------------
TEST(Seed004Pitfall3DummyGrid, UpstreamGridFailsInTheProjector) {
  ScopedFault fault("vision.dummy_grid_1x1");
  const Batch dummy = make_dummy_batch(16, 2);
  EXPECT_EQ(dummy.grids[0].hp, 1);
  testing::TinyModel model(16, 2, 4);
  try {
    model->forward(dummy);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("Hp=1"), std::string::npos) << m;
    EXPECT_NE(m.find("s=2"), std::string::npos) << m;
  }
}

TEST(Seed004Pitfall3DummyGrid, OursRunsAndTrainsNothing) {
  const TensorMap labels{{"joint_3d", torch::zeros({21, 3})}};
  testing::TinyModel model(16, 2, 4);
  const Batch dummy = make_dummy_batch(16, 2, labels);
  const torch::Tensor loss = testing::hand_loss(dummy, model->forward(dummy));
  loss.backward();
  EXPECT_EQ(loss.item<double>(), 0.0);
  for (const auto& p : model->parameters()) EXPECT_EQ(torch::count_nonzero(p.grad()).item<int64_t>(), 0);

  // Upstream's dummy also left its labels valid (zeros are a real target): with the mask on, it trains.
  model->zero_grad();
  Batch unmasked = dummy;
  unmasked.valid = torch::ones({1}, torch::kBool);
  unmasked.has_hand = torch::ones({1}, torch::kBool);
  testing::hand_loss(unmasked, model->forward(unmasked)).backward();
  EXPECT_GT(torch::count_nonzero(model->head->weight.grad()).item<int64_t>(), 0);
}

// --- Pitfall 4: image grids lost in the collator
// ------------------------------------------------------------------
Columns batch_without_grids() {
  Columns columns;
  for (int64_t i = 0; i < 3; ++i) {
    ImageSample s;
    s.id = i;
    s.image = torch::zeros({3, 32, 64});
    s.grid = make_image_grid(32, 64, 16, 2);
    s.K = torch::eye(3);
    s.original_size = {32, 64};
    s.has_hand = true;
    for (const auto& [name, t] : sample_to_fields(s)) columns[name].push_back(t);
  }
  columns.erase("grid");  // a transformation upstream forgot to carry
  return columns;
}

TEST(Seed004Pitfall4LostGrids, UpstreamZipSilentlyDropsTheWholeBatch) {
  ScopedFault fault("vision.collator_drop_grids");
  const auto samples = samples_from_columns(batch_without_grids(), 16, 2);
  EXPECT_TRUE(samples.empty());  // three images in, nothing out, no error
}

TEST(Seed004Pitfall4LostGrids, OursIsAnErrorNamingTheField) {
  try {
    samples_from_columns(batch_without_grids(), 16, 2);
    FAIL() << "expected an error";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'grid'"), std::string::npos) << e.what();
  }
}

// --- Pitfall 5: aspect-ratio distortion; upstream's "fix" allow_upscale=False breaks divisibility
// ------------------
TEST(Seed004Pitfall5Resize, UpstreamNoUpscaleGivesSidesNotDivisibleByQ) {
  // The examples traced in docs/upstream.md VP2.1 (p = 16·2 = 32, m = 1024).
  EXPECT_EQ(dynamic_resize_target_upstream({500, 375}, 32, 1024, false), (ImageSize{500, 384}));
  EXPECT_EQ(dynamic_resize_target_upstream({333, 333}, 32, 1024, false), (ImageSize{352, 333}));
  EXPECT_THROW(make_image_grid(ImageSize{500, 384}, 16, 2), ShapeError);  // Hp = 31.25
  // Upstream with upscaling matches its documented worked examples (our check of the transcription).
  EXPECT_EQ(dynamic_resize_target_upstream({480, 640}, 32, 1024, true), (ImageSize{480, 640}));
  EXPECT_EQ(dynamic_resize_target_upstream({1080, 1920}, 32, 1024, true), (ImageSize{576, 1024}));
  EXPECT_EQ(dynamic_resize_target_upstream({500, 375}, 32, 1024, true), (ImageSize{512, 384}));
  EXPECT_EQ(dynamic_resize_target_upstream({100, 3000}, 32, 1024, true), (ImageSize{64, 1024}));
  {
    ScopedFault fault("vision.resize_upstream_no_upscale");
    const ImageSize bad = dynamic_resize_target({500, 375}, 32, 1024, false);
    EXPECT_NE(bad.height % 32, 0);
  }
  const ImageSize good = dynamic_resize_target({500, 375}, 32, 1024, false);
  EXPECT_EQ(good, (ImageSize{480, 352}));
  EXPECT_NO_THROW(make_image_grid(good, 16, 2));
}

TEST(Seed004Pitfall5Resize, SquashingDistortsOursKeepsTheAspect) {
  const ImageSize src{480, 640};
  {
    ScopedFault fault("vision.resize_square");
    const ImageSize sq = dynamic_resize_target(src, 32, 448, true);
    EXPECT_EQ(sq.height, sq.width);                                   // 4:3 becomes 1:1, a 33 % distortion
    EXPECT_GE(std::abs(sq.height * 640 - 480 * sq.width), 32 * 640);  // more than one q step
  }
  const ImageSize ok = dynamic_resize_target(src, 32, 448, true);
  EXPECT_EQ(ok, (ImageSize{352, 448}));
  EXPECT_LT(std::abs(ok.height * 640 - 480 * ok.width), 32 * 640);
}

}  // namespace
}  // namespace amt::vision
