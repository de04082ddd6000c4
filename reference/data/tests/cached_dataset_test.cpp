// The cached dataset (P4): storage dtypes, exact reload of every field's dtype and value, memory, and
// agreement with the reader and the vision pipeline's resize rule.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "reference/core/error.hpp"
#include "reference/data/cached_dataset.hpp"
#include "reference/data/tests/test_dataset.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/vision/camera_rescale.hpp"
#include "reference/vision/dynamic_resize.hpp"

namespace amt::data {
namespace {

using testing::small_dataset;
using testing::TempDir;

const DexYCBReader& train_reader() {
  return testing::small_train_reader();
}

// Resize settings small enough to keep property cases fast.
const std::vector<std::optional<ResizeSpec>> kResizes = {ResizeSpec{14, 224, true}, ResizeSpec{28, 112, true},
                                                         ResizeSpec{16, 160, false},
                                                         ResizeSpec{14, 70, true}};

RC_GTEST_PROP(CacheProperty, SaveLoadRestoresEveryFieldsDtypeAndValue, ()) {
  const auto storage =
      *rc::gen::element(ImageStorage::kUInt8, ImageStorage::kBFloat16, ImageStorage::kFloat32);
  const auto resize = *rc::gen::elementOf(kResizes);
  const auto count = *rc::gen::inRange<size_t>(1, 5);
  const auto indices =
      *rc::gen::container<std::vector<int64_t>>(count, rc::gen::inRange<int64_t>(0, train_reader().size()));
  CacheOptions opt;
  opt.storage = storage;
  opt.resize = resize;
  const CachedDataset built = CachedDataset::build(train_reader(), opt, indices);
  TempDir dir("cacheprop");
  built.save(dir / "c.safetensors");
  const CachedDataset back = CachedDataset::load(dir / "c.safetensors");
  RC_ASSERT(back.size() == static_cast<int64_t>(count));
  RC_ASSERT(back.storage() == storage);
  RC_ASSERT(back.fields().size() == built.fields().size());
  for (const auto& [name, t] : built.fields()) {
    const torch::Tensor& u = back.fields().at(name);
    RC_ASSERT(u.scalar_type() == t.scalar_type());
    RC_ASSERT(torch::equal(u, t));
  }
  RC_ASSERT(back.fields().at("images").scalar_type() == image_storage_dtype(storage));
  RC_ASSERT(back.fields().at("has_hand").scalar_type() == torch::kBool);
  RC_ASSERT(back.fields().at("joint_valid").scalar_type() == torch::kBool);
  RC_ASSERT(back.fields().at("object_ids").scalar_type() == torch::kInt64);
  RC_ASSERT(back.fields().at("num_objects").scalar_type() == torch::kInt64);
  RC_ASSERT(back.fields().at("joint_3d").scalar_type() == torch::kFloat32);
  RC_ASSERT(back.fields().at("K").scalar_type() == torch::kFloat32);
  RC_ASSERT(back.fields().at("E").scalar_type() == torch::kFloat32);
  RC_ASSERT(back.fields().at("object_poses").scalar_type() == torch::kFloat32);
  // Every stored size follows the vision rule.
  const vision::ImageSize want =
      vision::dynamic_resize_target({480, 640}, resize->q, resize->max_side, resize->allow_upscale);
  for (const auto& s : back.image_sizes()) RC_ASSERT(s == want);
}

TEST(Cache, NativeUint8MatchesTheReaderExactly) {
  const DexYCBReader& r = train_reader();
  const std::vector<int64_t> idx = {0, 5, 17, 33};
  const CachedDataset c = CachedDataset::build(r, {}, idx);
  for (size_t k = 0; k < idx.size(); ++k) {
    const auto row = static_cast<int64_t>(k);
    const Sample s = r.load(idx[k]);
    EXPECT_TRUE(torch::equal(c.image(row), vision::image_to_tensor_u8(s.image)));
    EXPECT_TRUE(torch::equal(c.fields().at("joint_3d")[row], s.joint_3d));
    EXPECT_TRUE(torch::equal(c.fields().at("joint_2d")[row], s.joint_2d));
    EXPECT_TRUE(torch::equal(c.fields().at("K")[row], s.K));
    EXPECT_TRUE(torch::equal(c.fields().at("pose_m")[row], s.pose_m));
    EXPECT_TRUE(torch::equal(c.fields().at("mano_betas")[row], s.betas));
    EXPECT_TRUE(torch::equal(c.fields().at("grasped_pose")[row], s.grasped_pose));
    const auto n = static_cast<int64_t>(s.ycb_ids.size());
    EXPECT_EQ(c.fields().at("num_objects")[row].item<int64_t>(), n);
    EXPECT_TRUE(torch::equal(c.fields().at("object_poses")[row].narrow(0, 0, n), s.pose_y));
    EXPECT_TRUE((c.fields().at("object_poses")[row].narrow(0, n, kMaxObjects - n) == 0).all().item<bool>());
    EXPECT_EQ(c.fields().at("has_hand")[row].item<bool>(), s.has_hand);
    EXPECT_EQ(c.fields().at("sample_index")[row].item<int64_t>(), idx[k]);
    EXPECT_TRUE(torch::equal(c.fields().at("E")[row], torch::eye(4)));
  }
}

TEST(Cache, FloatStorageHoldsTheNormalisedImage) {
  const DexYCBReader& r = train_reader();
  const Sample s = r.load(3);
  CacheOptions opt;
  opt.resize = ResizeSpec{14, 224, true};
  opt.storage = ImageStorage::kFloat32;
  const torch::Tensor f32 = CachedDataset::build(r, opt, {3}).image(0);
  opt.storage = ImageStorage::kBFloat16;
  const torch::Tensor bf16 = CachedDataset::build(r, opt, {3}).image(0);
  opt.storage = ImageStorage::kUInt8;
  const torch::Tensor u8 = CachedDataset::build(r, opt, {3}).image(0);
  const auto resized = vision::DynamicResize(14, 224, true)(
      s.image, {s.intrinsics.fx, s.intrinsics.fy, s.intrinsics.ppx, s.intrinsics.ppy, 0});
  EXPECT_TRUE(torch::equal(f32, vision::normalize_image(resized.image)));
  EXPECT_TRUE(torch::equal(bf16, vision::normalize_image(resized.image).to(torch::kBFloat16)));
  EXPECT_TRUE(torch::equal(u8, vision::image_to_tensor_u8(resized.image)));
  EXPECT_EQ(f32.sizes(), (c10::IntArrayRef{3, 168, 224}));
}

TEST(Cache, ResizedKAndJoint2dStayConsistent) {
  // Projecting the (unchanged) 3-D joints with the rescaled K lands on the rescaled 2-D joints.
  CacheOptions opt;
  opt.resize = ResizeSpec{14, 224, true};
  const CachedDataset c = CachedDataset::build(train_reader(), opt, {0, 9, 18, 27, 36, 45, 54, 63, 72, 81});
  const torch::Tensor K = c.fields().at("K").to(torch::kFloat64);
  const torch::Tensor j3 = c.fields().at("joint_3d").to(torch::kFloat64);
  const torch::Tensor j2 = c.fields().at("joint_2d").to(torch::kFloat64);
  const torch::Tensor h = torch::matmul(j3, K.transpose(1, 2));
  const torch::Tensor valid = c.fields().at("has_hand");
  ASSERT_TRUE(valid.any().item<bool>());
  const torch::Tensor uv = h.narrow(2, 0, 2) / h.narrow(2, 2, 1);
  EXPECT_LT((uv - j2).index({valid}).abs().max().item<double>(), 1e-3);
  // And K is the vision rescale of the native K (rounded once to float32 here, in float32 steps there).
  const Sample s = train_reader().load(0);
  const torch::Tensor want = vision::rescale_intrinsics(s.K, {480, 640}, {168, 224});
  EXPECT_TRUE(torch::allclose(c.fields().at("K")[0], want, 1e-6, 1e-6)) << c.fields().at("K")[0] << want;
  EXPECT_EQ(c.fields().at("scale")[0][0].item<double>(), 168.0 / 480.0);
}

TEST(Cache, Uint8ImagesCostAtMostFivePercentOverRawPixels) {
  for (const std::optional<ResizeSpec>& resize :
       {std::optional<ResizeSpec>{}, std::optional<ResizeSpec>{ResizeSpec{14, 224, true}}}) {
    CacheOptions opt;
    opt.resize = resize;
    const std::vector<int64_t> idx = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    const CachedDataset c = CachedDataset::build(train_reader(), opt, idx);
    const vision::ImageSize s = c.image_size(0);
    const int64_t raw = static_cast<int64_t>(idx.size()) * 3 * s.height * s.width;
    const auto bytes = c.memory_bytes();
    const int64_t image_bytes = bytes.at("images") + bytes.at("image_offset") + bytes.at("image_hw");
    EXPECT_LE(image_bytes, raw * 105 / 100) << s.str();
    // No hidden over-allocation behind the flat tensor either.
    EXPECT_EQ(static_cast<int64_t>(c.fields().at("images").storage().nbytes()), raw);
    // On disk: the images plus the labels plus a header.
    TempDir dir("mem");
    c.save(dir / "c.safetensors");
    const auto file = static_cast<int64_t>(std::filesystem::file_size(dir / "c.safetensors"));
    EXPECT_LE(file, c.total_bytes() + 16384);
    const CachedDataset back = CachedDataset::load(dir / "c.safetensors");
    EXPECT_EQ(back.memory_bytes(), bytes);
  }
}

TEST(Cache, BatchesCrossTheBoundary) {
  const CachedDataset c = CachedDataset::build(train_reader(), {}, {0, 1, 2});
  const vision::Batch collated = c.batch({2, 0}, 16, 1);
  EXPECT_EQ(collated.ids, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(collated.grids[0].hp, 30);
  EXPECT_EQ(collated.grids[0].wp, 40);
  const TensorMap batch = vision::model_inputs(collated);
  EXPECT_EQ(batch.at("image").sizes(), (c10::IntArrayRef{2, 3, 480, 640}));
  EXPECT_EQ(batch.at("image").scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(batch.at("joint_3d")[1], c.fields().at("joint_3d")[0]));
  EXPECT_TRUE(torch::equal(batch.at("K")[0], c.fields().at("K")[2]));
  EXPECT_TRUE(torch::equal(collated.scale[0], c.fields().at("scale")[2]));
  EXPECT_EQ(batch.count("image_offset"), 0u);
  EXPECT_EQ(batch.count("images"), 0u);
  // The data layer stores; the boundary decides compute dtypes (P1).
  for (const auto kind : {precision::PolicyKind::kFp32, precision::PolicyKind::kBf16Autocast}) {
    const auto conformed = precision::conform_batch(batch, precision::PrecisionPolicy(kind));
    EXPECT_EQ(conformed.at("K").scalar_type(), torch::kFloat32);
    EXPECT_EQ(conformed.at("has_hand").scalar_type(), torch::kBool);
    EXPECT_EQ(conformed.at("object_ids").scalar_type(), torch::kInt64);
  }
  EXPECT_TRUE(c.batch({}, 16, 1).empty());
  EXPECT_THROW(c.batch({3}, 16, 1), ValueError);
}

TEST(Cache, NoHandSamplesAreMaskedNotSentinels) {
  // Find the no-hand frames of the training split.
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < train_reader().size(); ++i) {
    if (!labels_have_hand(
            read_labels(join_path(train_reader().root(), train_reader().info(i).label_file)).joint_3d)) {
      idx.push_back(i);
    }
  }
  ASSERT_FALSE(idx.empty());
  const CachedDataset c = CachedDataset::build(train_reader(), {}, idx);
  EXPECT_FALSE(c.fields().at("has_hand").any().item<bool>());
  EXPECT_FALSE(c.fields().at("joint_valid").any().item<bool>());
  EXPECT_TRUE((c.fields().at("joint_3d") == 0).all().item<bool>());
  EXPECT_TRUE((c.fields().at("joint_2d") == 0).all().item<bool>());
}

TEST(Cache, LoadRejectsFieldsWithTheWrongDtypeOrShape) {
  const CachedDataset c = CachedDataset::build(train_reader(), {}, {0, 1});
  TempDir dir("reject");
  const std::string f = dir / "c.safetensors";
  auto expect_rejected = [&](const std::string& field, TensorMap fields,
                             std::map<std::string, std::string> meta) {
    io::write_safetensors(f, fields, meta);
    try {
      CachedDataset::load(f);
      ADD_FAILURE() << "accepted a cache with a bad " << field;
    } catch (const FormatError& e) {
      EXPECT_EQ(e.file(), f);
      EXPECT_EQ(e.field(), field);
    }
  };
  // Upstream's reload turned bool/int64 fields into the image dtype (hazard 4): such a file is refused.
  TensorMap fields = c.fields();
  fields["has_hand"] = fields["has_hand"].to(torch::kFloat32);
  expect_rejected("has_hand", fields, c.metadata());
  fields = c.fields();
  fields["joint_3d"] = fields["joint_3d"].to(torch::kBFloat16);
  expect_rejected("joint_3d", fields, c.metadata());
  fields = c.fields();
  fields.erase("object_ids");
  expect_rejected("object_ids", fields, c.metadata());
  fields = c.fields();
  fields["K"] = fields["K"].narrow(0, 0, 1);
  expect_rejected("K", fields, c.metadata());
  fields = c.fields();
  fields["images"] = fields["images"].narrow(0, 0, 100);
  expect_rejected("images", fields, c.metadata());
  auto meta = c.metadata();
  meta["image_storage"] = "bf16";
  expect_rejected("images", c.fields(), meta);
  meta.erase("format");
  expect_rejected("__metadata__.format", c.fields(), meta);
}

}  // namespace
}  // namespace amt::data
