// Hand-crop caches (CacheOptions::crop): frames with a hand only, context crops stored, the final crop cut
// per sample with the ground-truth box or a (seed, epoch, sample) jitter, K and the 2-D labels moved with
// every crop so that projecting the 3-D joints lands on them.
#include <gtest/gtest.h>

#include "reference/core/error.hpp"
#include "reference/data/cached_dataset.hpp"
#include "reference/data/loader.hpp"
#include "reference/data/tests/test_dataset.hpp"
#include "reference/io/safetensors.hpp"

namespace amt::data {
namespace {

using testing::TempDir;

CacheOptions crop_options(double shift, double scale) {
  CacheOptions o;
  vision::HandCropSpec spec;
  spec.size = 56;
  spec.jitter_shift = shift;
  spec.jitter_scale = scale;
  o.crop = spec;
  return o;
}

// Largest distance (px) between joint_2d and joint_3d projected with K, over the valid joints.
double reprojection_gap(const torch::Tensor& K, const torch::Tensor& j3, const torch::Tensor& j2,
                        const torch::Tensor& valid) {
  const torch::Tensor uvw = torch::matmul(j3.to(torch::kFloat64), K.to(torch::kFloat64).transpose(0, 1));
  const torch::Tensor uv = uvw.narrow(1, 0, 2) / uvw.narrow(1, 2, 1);
  return (uv - j2.to(torch::kFloat64)).norm(2, -1).index({valid}).max().item<double>();
}

TEST(HandCropCache, KeepsOnlyFramesWithAHand) {
  const CachedDataset all = CachedDataset::build(testing::small_train_reader(), CacheOptions{});
  const CachedDataset crops = CachedDataset::build(testing::small_train_reader(), crop_options(0.1, 0.15));
  const int64_t with_hand = all.fields().at("has_hand").sum().item<int64_t>();
  ASSERT_LT(with_hand, all.size()) << "the small dataset should have frames without a hand";
  EXPECT_EQ(crops.size(), with_hand);
  EXPECT_TRUE(crops.fields().at("has_hand").all().item<bool>());
}

TEST(HandCropCache, EveryCropKeepsJointsAndKInAgreement) {
  const CachedDataset c = CachedDataset::build(testing::small_train_reader(), crop_options(0.1, 0.15));
  ASSERT_TRUE(c.hand_crop().has_value());
  for (int64_t i = 0; i < c.size(); ++i) {
    for (const std::optional<CropJitter>& jitter :
         {std::optional<CropJitter>(), std::optional(CropJitter{3, 1})}) {
      const vision::ImageSample s = c.sample(i, 14, 1, jitter);
      ASSERT_EQ(s.image.size(1), 56);
      ASSERT_EQ(s.image.size(2), 56);
      // float32 labels and K: a few 1e-4 px.
      EXPECT_LT(
          reprojection_gap(s.K, s.labels.at("joint_3d"), s.labels.at("joint_2d"), s.labels.at("joint_valid")),
          1e-3)
          << "sample " << i << (jitter ? " jittered" : "");
    }
  }
}

TEST(HandCropCache, TheGroundTruthBoxCentresTheHandAndJitterDependsOnSeedEpochAndSampleOnly) {
  const CachedDataset c = CachedDataset::build(testing::small_train_reader(), crop_options(0.1, 0.15));
  const vision::ImageSample plain = c.sample(0, 14, 1);
  const torch::Tensor j2 = plain.labels.at("joint_2d");
  const auto lo = std::get<0>(j2.min(0)), hi = std::get<0>(j2.max(0));
  // The joints' box is centred in the crop and spans 1/margin of its side on its longer axis.
  EXPECT_NEAR(((lo + hi) / 2 - 27.5).abs().max().item<double>(), 0.0, 1e-3);
  EXPECT_NEAR((hi - lo).max().item<double>(), 56.0 / 1.5, 1e-3);
  const auto image = [&](uint64_t seed, int64_t epoch) {
    return c.sample(0, 14, 1, CropJitter{seed, epoch}).image;
  };
  EXPECT_TRUE(torch::equal(image(1, 2), image(1, 2)));
  EXPECT_FALSE(torch::equal(image(1, 2), image(1, 3)));
  EXPECT_FALSE(torch::equal(image(1, 2), image(2, 2)));
  EXPECT_FALSE(torch::equal(image(1, 2), plain.image));
}

TEST(HandCropCache, AnEvaluationCacheStoresTheFinalCropItself) {
  const CachedDataset c = CachedDataset::build(testing::small_train_reader(), crop_options(0, 0));
  EXPECT_EQ(c.image(0).size(1), 56);
  EXPECT_TRUE(torch::equal(c.sample(0, 14, 1).image, c.image(0)));  // no second resampling
}

TEST(HandCropCache, SaveAndLoadKeepTheCropAndACorruptSpecIsAFormatError) {
  const CachedDataset c = CachedDataset::build(testing::small_train_reader(), crop_options(0.1, 0.15),
                                               {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  ASSERT_GE(c.size(), 2);
  TempDir dir("cropcache");
  c.save(dir / "c.safetensors");
  const CachedDataset back = CachedDataset::load(dir / "c.safetensors");
  ASSERT_TRUE(back.hand_crop().has_value());
  EXPECT_EQ(back.hand_crop()->size, 56);
  EXPECT_TRUE(torch::equal(back.sample(1, 14, 1, CropJitter{0, 4}).image,
                           c.sample(1, 14, 1, CropJitter{0, 4}).image));
  EXPECT_EQ(back.sample_sizes().at(0), (vision::ImageSize{56, 56}));
  // A damaged spec in the file's metadata: one line naming the file and the field.
  std::map<std::string, std::string> meta = c.metadata();
  meta["hand_crop"] = "size=56,margin=0.5,min_side=16,jitter_shift=0.1,jitter_scale=0.15";
  io::write_safetensors(dir / "bad.safetensors", c.fields(), meta);
  try {
    CachedDataset::load(dir / "bad.safetensors");
    FAIL() << "a margin below 1 loaded";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("__metadata__.hand_crop"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << e.what();
  }
}

TEST(HandCropCache, CropsNeedUint8Storage) {
  CacheOptions o = crop_options(0.1, 0.1);
  o.storage = ImageStorage::kFloat32;
  EXPECT_THROW(CachedDataset::build(testing::small_train_reader(), o, {0}), ConfigError);
}

TEST(HandCropCache, TheLoaderJittersTrainingBatchesOnlyWhenAsked) {
  const CachedDataset c = CachedDataset::build(testing::small_train_reader(), crop_options(0.1, 0.15));
  LoaderOptions lo;
  lo.batch_size = 4;
  lo.shuffle = false;
  lo.prefetch = 0;
  const auto first = [&](bool jitter) {
    lo.crop_jitter = jitter;
    Loader loader(c, lo, 14, 1);
    loader.start_epoch(0);
    return torch::stack(loader.next()->images);
  };
  EXPECT_TRUE(torch::equal(first(false), torch::stack(c.batch({0, 1, 2, 3}, 14, 1).images)));
  EXPECT_TRUE(torch::equal(first(true), torch::stack(c.batch({0, 1, 2, 3}, 14, 1, CropJitter{0, 0}).images)));
}

}  // namespace
}  // namespace amt::data
