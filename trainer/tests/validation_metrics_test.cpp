// mean_pose() and validate() against computations written out in the test: a small synthetic split is cached,
// its labels replaced by hand-chosen ones (the cache file edited and reloaded), and the model made to output
// known joints (the joint head's last layer and the refinement offsets zeroed, the anchor and offset biases
// set), so every expected MPJPE is a loop over the cache's own labels here, not the code under test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include "conformance/lib/budgets.hpp"
#include "reference/core/error.hpp"
#include "reference/data/cached_dataset.hpp"
#include "reference/data/dexycb_reader.hpp"
#include "reference/data/dexycb_splits.hpp"
#include "reference/data/synth.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/model/amt_config.hpp"
#include "reference/model/amt_model.hpp"
#include "trainer/validation.hpp"

namespace amt::trainer {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kJoints = 21;

// One synthetic subject (s0: sequences 0-3 train, 4 val; 1 frame × 8 cameras each): 32 training and 8
// validation images, cached at max side 112 (the tiny model's patch 14), generated once per process.
struct SmallData {
  fs::path dir;
  data::CachedDataset train, val;
  SmallData() : dir(fs::temp_directory_path() / ("amt-validation-test-" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    data::SynthOptions so;
    so.subjects = {0};
    so.sequences = 5;
    so.frames = 1;
    so.threads = 2;
    so.keep_labels = false;
    data::synthesize_dexycb((dir / "dexycb").string(), so);
    data::CacheOptions co;
    co.resize = data::ResizeSpec{14, 112, true};
    co.threads = 2;
    const auto build = [&](data::Split split) {
      return data::CachedDataset::build(
          data::DexYCBReader((dir / "dexycb").string(), data::Setup::kS0, split), co);
    };
    train = build(data::Split::kTrain);
    val = build(data::Split::kVal);
  }
  ~SmallData() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};
const SmallData& small_data() {
  static const SmallData d;
  return d;
}

// `cache` with has_hand and joint_3d replaced (through its file: the cache has no setters), reloaded.
data::CachedDataset with_labels(const data::CachedDataset& cache, const torch::Tensor& has_hand,
                                const torch::Tensor& joint_3d, const std::string& name) {
  const std::string path = (small_data().dir / (name + ".safetensors")).string();
  cache.save(path);
  io::Safetensors st = io::read_safetensors(path);
  std::map<std::string, torch::Tensor> fields;
  for (const auto& [k, v] : st.tensors) fields[k] = v.clone();
  fields["has_hand"] = has_hand;
  fields["joint_3d"] = joint_3d.to(torch::kFloat);
  io::write_safetensors(path, fields, st.metadata);
  return data::CachedDataset::load(path);
}

TEST(MeanPose, IsTheMeanOverTheFramesWithAHandOnly) {
  const data::CachedDataset& base = small_data().train;
  const int64_t n = base.size();
  ASSERT_GE(n, 6);
  // Frame i: joint j, coordinate c at 0.01·(i+1) + 0.001·j + 0.1·c m; every third frame has no hand and
  // carries DexYCB's −1 sentinel, which must not enter the mean.
  torch::Tensor has_hand = torch::zeros({n}, torch::kBool);
  torch::Tensor joints = torch::empty({n, kJoints, 3}, torch::kFloat);
  std::vector<double> sum(kJoints * 3, 0.0);
  int64_t with_hand = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool hand = i % 3 != 1;
    has_hand[i] = hand;
    with_hand += hand ? 1 : 0;
    for (int64_t j = 0; j < kJoints; ++j) {
      for (int64_t c = 0; c < 3; ++c) {
        const float v = hand ? static_cast<float>(0.01 * (i + 1) + 0.001 * j + 0.1 * c) : -1.0f;
        joints[i][j][c] = v;
        if (hand) sum[j * 3 + c] += static_cast<double>(v);  // the value as stored (fp32)
      }
    }
  }
  const torch::Tensor got = mean_pose(with_labels(base, has_hand, joints, "mean-pose"));
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{kJoints, 3}));
  EXPECT_EQ(got.scalar_type(), torch::kFloat64);
  const double tol_m = conformance::budget("metric_mm").limit / 1000.0;
  for (int64_t j = 0; j < kJoints; ++j)
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_NEAR(got[j][c].item<double>(), sum[j * 3 + c] / static_cast<double>(with_hand), tol_m)
          << "joint " << j << " coordinate " << c;
  // No frame with a hand: an error, not a NaN pose.
  EXPECT_THROW(mean_pose(with_labels(base, torch::zeros({n}, torch::kBool), joints, "no-hand")), ValueError);
}

// A pose whose fp32 sums stay exact: multiples of 1/32 m.
torch::Tensor dyadic_pose(double dx) {
  torch::Tensor p = torch::empty({kJoints, 3}, torch::kDouble);
  for (int64_t j = 0; j < kJoints; ++j) {
    p[j][0] = (static_cast<double>(j % 5) - 2.0) / 32.0 + dx;
    p[j][1] = (static_cast<double>(j / 5) - 2.0) / 32.0;
    p[j][2] = 20.0 / 32.0;
  }
  return p;
}

// MPJPE in mm of one pose predicted for every frame with a hand, written out.
double mpjpe_of_constant_pose(const torch::Tensor& pose, const data::CachedDataset& val) {
  const torch::Tensor gt = val.fields().at("joint_3d").to(torch::kDouble);
  const torch::Tensor hand = val.fields().at("has_hand");
  double sum = 0.0;
  int64_t frames = 0;
  for (int64_t i = 0; i < val.size(); ++i) {
    if (!hand[i].item<bool>()) continue;
    double frame = 0.0;
    for (int64_t j = 0; j < kJoints; ++j) {
      double sq = 0.0;
      for (int64_t c = 0; c < 3; ++c) {
        const double d = pose[j][c].item<double>() - gt[i][j][c].item<double>();
        sq += d * d;
      }
      frame += std::sqrt(sq) * 1000.0;
    }
    sum += frame / kJoints;
    ++frames;
  }
  return sum / static_cast<double>(frames);
}

TEST(Validate, MpjpeOfAModelWithKnownOutputsAndTheMeanPoseBaseline) {
  const auto policy = precision::PrecisionPolicy::parse("fp32");
  const data::CachedDataset& base = small_data().val;
  const int64_t n = base.size();
  ASSERT_GE(n, 4);
  // Two frames without a hand (sentinel joints far from anything), the rest with the generator's labels.
  torch::Tensor has_hand = base.fields().at("has_hand").clone();
  torch::Tensor joints = base.fields().at("joint_3d").clone();
  for (int64_t i : {int64_t{1}, n - 1}) {
    has_hand[i] = false;
    joints[i].fill_(-1.0f);
  }
  has_hand[0] = true;  // and at least one with
  const data::CachedDataset val = with_labels(base, has_hand, joints, "val");

  // The coarse joints are the anchor P (joint head's last layer zero); refinement step s adds 0.5^s × its
  // offset bias (offset weights zero): refined = P + b0 + b1/2, exact in fp32 for these dyadic values.
  model::AmtModel m = model::make_amt_model(model::load_amt_config("tiny"), 0, policy);
  const torch::Tensor P = dyadic_pose(0.0);
  const torch::Tensor b0 = torch::tensor({1.0 / 64, -1.0 / 32, 1.0 / 16}, torch::kDouble);
  const torch::Tensor b1 = torch::tensor({-1.0 / 16, 1.0 / 64, 1.0 / 32}, torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    auto params = m->named_parameters();
    params["hand.joint1.weight"].zero_();
    params["hand.joint1.bias"].zero_();
    params["hand.anchor"].copy_(P);
    for (int s : {0, 1}) params["refinement.offset." + std::to_string(s) + ".weight"].zero_();
    params["refinement.offset.0.bias"].copy_(b0);
    params["refinement.offset.1.bias"].copy_(b1);
  }
  ASSERT_EQ(m->config().refinement.steps, 2);  // the refined pose below assumes two steps
  const torch::Tensor refined = P + b0 + 0.5 * b1;
  const torch::Tensor mean_joints = dyadic_pose(3.0 / 32.0);  // the baseline: a third pose

  ValidationOptions vo;
  vo.batch_size = 3;  // batches that do not divide the set: every frame counted once
  m->train();         // validate() runs in eval mode and puts the mode back
  const auto metrics = validate(*m, val, mean_joints, policy, vo);
  EXPECT_TRUE(m->is_training());

  const double tol = conformance::budget("metric_mm").limit;
  int64_t hands = 0;
  for (int64_t i = 0; i < n; ++i) hands += has_hand[i].item<bool>() ? 1 : 0;
  EXPECT_EQ(metrics.at("val_frames"), static_cast<double>(hands));
  const double want_refined = mpjpe_of_constant_pose(refined, val);
  const double want_coarse = mpjpe_of_constant_pose(P, val);
  const double want_baseline = mpjpe_of_constant_pose(mean_joints, val);
  EXPECT_NEAR(metrics.at("val_mpjpe_mm"), want_refined, tol);
  EXPECT_NEAR(metrics.at("val_coarse_mpjpe_mm"), want_coarse, tol);
  EXPECT_NEAR(metrics.at("baseline_mpjpe_mm"), want_baseline, tol);
  // The three poses give clearly different numbers, so a swapped key or a no-hand frame counted shows.
  EXPECT_GT(std::abs(want_refined - want_coarse), 1.0);
  EXPECT_GT(std::abs(want_refined - want_baseline), 1.0);
  EXPECT_GT(std::abs(want_coarse - want_baseline), 1.0);
}

}  // namespace
}  // namespace amt::trainer
