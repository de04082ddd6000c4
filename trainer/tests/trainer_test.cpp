// Unit tests of the trainer's pieces: config table, schedule, optimizer groups and state, EMA, checkpoints,
// and the 10-step golden trajectory through the trainer's own step.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "conformance/lib/budgets.hpp"
#include "conformance/lib/case.hpp"
#include "conformance/lib/case_model.hpp"
#include "conformance/lib/golden_store.hpp"
#include "conformance/testing/oracle.hpp"
#include "conformance/testing/scratch_dir.hpp"
#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/model/weights_loader.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/cpu_isa.hpp"
#include "trainer/checkpoint.hpp"
#include "trainer/data_setup.hpp"
#include "trainer/optim.hpp"
#include "trainer/train_config.hpp"
#include "trainer/trainer.hpp"

namespace amt::trainer {
namespace {

namespace fs = std::filesystem;

// A config whose schedule is constant and whose step is exactly the goldens' (AdamW at the goldens' LR, wd
// 0.01 on every parameter, clip 1, eval mode, no EMA).
TrainConfig golden_step_config(const std::string& policy) {
  TrainConfig c;
  c.policy = policy;
  c.lr = conformance::kGoldenTrajectoryLr;
  c.backbone_lr_factor = 1.0;
  c.weight_decay = 0.01;
  c.backbone_weight_decay = 0.01;
  c.decay_every_parameter = true;  // golden_trajectory's AdamW decays biases, norms and tokens too
  c.warmup_steps = 0;
  c.min_lr_ratio = 1.0;
  c.clip_norm = 1.0;
  c.ema_decay = 0.0;
  c.dropout = false;
  return c;
}

struct GoldenCase {
  conformance::Case c;
  std::vector<double> losses;
};

GoldenCase trajectory_case() {
  const nlohmann::json manifest = conformance::read_golden_manifest(conformance::find_golden_dir());
  const auto& t = manifest.at("trajectory");
  const std::string id = t.at("case").get<std::string>();
  for (const auto& spec : conformance::golden_specs()) {
    if (spec.id == id) return {spec.c, t.at("losses").get<std::vector<double>>()};
  }
  throw ConfigError("no golden case " + id);
}

std::vector<double> trainer_trajectory(const GoldenCase& g, const std::string& policy_name) {
  const auto policy = precision::PrecisionPolicy::parse(policy_name);
  Schedule constant;
  constant.min_lr_ratio = 1.0;  // lr_factor ≡ 1: the goldens' fixed LR
  Trainer trainer(model::make_amt_model(conformance::case_config(g.c), 0, policy),
                  golden_step_config(policy_name), constant);
  const TensorMap batch = precision::conform_batch(conformance::make_case_batch(g.c), policy);
  std::vector<double> losses;
  for (size_t i = 0; i < g.losses.size(); ++i) losses.push_back(trainer.step({batch}).loss);
  return losses;
}

// The trainer's step is the goldens' step: bit-identical to golden_trajectory on this build, and within the
// trajectory budget of the stored golden (trajectory_abs on the build that wrote it: same CPU model, ISA,
// LibTorch and threads; the cross-build budget elsewhere; verify_golden_trajectory applies the same rule).
TEST(TrainerTrajectory, Fp32MatchesTheGoldenThroughTheTrainersStep) {
  const GoldenCase g = trajectory_case();
  // "Same build" means same CPU model and ISA: two "AMD EPYC"s can dispatch different kernels.
  EXPECT_NE(conformance::build_fingerprint().find(precision::cpu_summary()), std::string::npos);
  const std::vector<double> got = trainer_trajectory(g, "fp32");
  EXPECT_EQ(got, conformance::golden_trajectory(g.c, "fp32", static_cast<int>(g.losses.size())));
  const nlohmann::json manifest = conformance::read_golden_manifest(conformance::find_golden_dir());
  const bool same_build = manifest.at("trajectory").value("build", "") == conformance::build_fingerprint();
  const double budget =
      conformance::budget(same_build ? "trajectory_abs" : "trajectory_cross_build_abs", "fp32").limit;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], g.losses[i], budget) << "step " << i;
  EXPECT_LT(got.back(), got.front());
}

// bf16 against the FP32 golden: one budget on every CPU, measured over the ISAs oneDNN dispatches (the
// fingerprint says nothing about bf16 rounding: the golden is FP32). On one ISA the run is deterministic, so
// the tight check is a rerun.
TEST(TrainerTrajectory, Bf16AutocastFollowsTheFp32GoldenOnAnyIsa) {
  const GoldenCase g = trajectory_case();
  const std::vector<double> got = trainer_trajectory(g, "bf16-autocast");
  const double budget = conformance::budget("trajectory_vs_fp32_abs", "bf16-autocast").limit;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], g.losses[i], budget) << "step " << i << " on " << precision::cpu_summary();
  }
  EXPECT_LT(got.back(), got.front());
  EXPECT_EQ(trainer_trajectory(g, "bf16-autocast"), got) << "bf16 rerun on " << precision::cpu_summary();
}

TEST(TrainConfig, DefaultFileLoadsAndEveryFieldRoundTrips) {
  const TrainConfig c = load_train_config(find_train_config("default"));
  EXPECT_EQ(c.model, "tiny");
  EXPECT_EQ(c.policy, "bf16-autocast");
  TrainConfig changed = c;
  apply_override(changed, "optim.lr=3.3e-4");
  apply_override(changed, "loss.hand_refined=0.7");
  apply_override(changed, "optim.dropout=false");
  const TrainConfig back = from_json(to_json(changed), "config.json");
  EXPECT_EQ(to_json(back), to_json(changed));
  EXPECT_EQ(back.lr, 3.3e-4);
  EXPECT_EQ(back.loss.hand_refined, 0.7);
  EXPECT_FALSE(back.dropout);
}

TEST(TrainConfig, BadKeysAndValuesNameTheFileAndTheKey) {
  const ScratchDir scratch;
  const fs::path d = scratch.path();
  const fs::path f = d / "bad.yaml";
  std::ofstream(f) << "optim:\n  lrr: 1.0\n";
  try {
    load_train_config(f.string());
    FAIL() << "no error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml"), std::string::npos) << e.what();
    EXPECT_EQ(e.field(), "optim.lrr");
  }
  std::ofstream(f) << "optim:\n  batch_size: many\n";
  EXPECT_THROW(load_train_config(f.string()), FormatError);
  std::ofstream(f) << "optim:\n  batch_size: 0\n";
  EXPECT_THROW(load_train_config(f.string()), ConfigError);
  TrainConfig c;
  EXPECT_THROW(apply_override(c, "optim.nope=1"), ConfigError);
  EXPECT_THROW(apply_override(c, "optim.lr=fast"), ConfigError);
  EXPECT_THROW(apply_override(c, "optim.lr"), ConfigError);
}

TEST(Schedule, WarmupCosineAndRestarts) {
  Schedule s;
  s.warmup_steps = 10;
  s.total_steps = 110;
  s.min_lr_ratio = 0.0;
  EXPECT_DOUBLE_EQ(lr_factor(s, 0), 0.1);
  EXPECT_DOUBLE_EQ(lr_factor(s, 9), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(s, 10), 1.0);
  EXPECT_NEAR(lr_factor(s, 60), 0.5, 1e-12);
  EXPECT_NEAR(lr_factor(s, 109), 0.5 * (1 + std::cos(M_PI * 99.0 / 100.0)), 1e-12);
  for (int64_t i = 11; i < 110; ++i) EXPECT_LT(lr_factor(s, i), lr_factor(s, i - 1)) << i;
  // Restarts: cycles of 20 then 40 steps after warmup.
  s.cycle_steps = 20;
  s.restart_mult = 2.0;
  s.min_lr_ratio = 0.1;
  EXPECT_DOUBLE_EQ(lr_factor(s, 30), 1.0);  // the first restart
  EXPECT_DOUBLE_EQ(lr_factor(s, 70), 1.0);  // the second, after a 40-step cycle
  EXPECT_NEAR(lr_factor(s, 50), 0.1 + 0.9 * 0.5, 1e-12);
  EXPECT_GE(lr_factor(s, 69), 0.1);
}

model::AmtModel tiny_model(const precision::PrecisionPolicy& policy) {
  return model::make_amt_model(model::load_amt_config("tiny"), 0, policy);
}

TensorMap tiny_batch(const precision::PrecisionPolicy& policy, uint64_t seed) {
  conformance::Case c;
  c.config = "tiny";
  c.batch = 2;
  c.height = 56;
  c.width = 84;
  c.seed = seed;
  return precision::conform_batch(conformance::make_case_batch(c), policy);
}

TEST(TrainingOptimizer, GroupsFreezeAndLrFactor) {
  const auto policy = precision::PrecisionPolicy::parse("fp32");
  model::AmtModel m = tiny_model(policy);
  TrainConfig c;
  c.freeze_blocks = 2;
  c.lr = 1e-3;
  c.backbone_lr_factor = 0.1;
  TrainingOptimizer opt(*m, c);
  EXPECT_GT(opt.frozen_parameters(), 0);
  opt.set_lr_factor(0.5);
  const auto lrs = opt.lrs();
  EXPECT_DOUBLE_EQ(lrs.at("lr/heads"), 5e-4);
  EXPECT_DOUBLE_EQ(lrs.at("lr/backbone"), 5e-5);
  // Frozen: blocks 0 and 1 and the embeddings; block 2 trains.
  for (const auto& item : m->named_parameters()) {
    const int64_t block = backbone_block_index(item.key());
    if (block == 0 || block == 1 || item.key().find("backbone.embeddings.") != std::string::npos) {
      EXPECT_FALSE(item.value().requires_grad()) << item.key();
    } else {
      EXPECT_TRUE(item.value().requires_grad()) << item.key();
    }
  }
  // A step leaves the frozen ones bit-identical and moves the others.
  std::map<std::string, torch::Tensor> before;
  for (const auto& item : m->named_parameters()) before[item.key()] = item.value().detach().clone();
  c.ema_decay = 0.0;
  c.dropout = false;
  Trainer t(m, c, Schedule{});
  ASSERT_FALSE(t.step({tiny_batch(policy, 3)}).skipped);
  int64_t moved_in_block2 = 0;
  for (const auto& item : m->named_parameters()) {
    const bool same = torch::equal(before[item.key()], item.value());
    if (!item.value().requires_grad()) {
      EXPECT_TRUE(same) << item.key();
    }
    if (backbone_block_index(item.key()) == 2 && !same) ++moved_in_block2;
  }
  EXPECT_GT(moved_in_block2, 4);
}

// Weight decay by parameter kind (deviations T10): every trainable parameter in exactly one group; the
// weight matrices of linear and convolution layers decayed at their part's rate, everything else (biases,
// norm weights, layer-scale gammas, σ scales, tokens, queries, position tables, anchors) at 0; both parts
// keep their LR.
TEST(TrainingOptimizer, WeightDecayOnlyOnWeightMatricesInBothParts) {
  const auto policy = precision::PrecisionPolicy::parse("fp32");
  model::AmtModel m = tiny_model(policy);
  TrainConfig c;
  c.lr = 1e-3;
  c.backbone_lr_factor = 0.1;
  c.weight_decay = 0.05;  // the two parts' rates differ, so a parameter in the wrong part shows
  c.backbone_weight_decay = 0.01;
  TrainingOptimizer opt(*m, c);
  ASSERT_EQ(opt.group_names(),
            (std::vector<std::string>{"backbone", "backbone/no_decay", "heads", "heads/no_decay"}));
  const auto& groups = opt.adamw().param_groups();
  ASSERT_EQ(groups.size(), 4u);
  const auto options = [&](size_t g) {
    return static_cast<const torch::optim::AdamWOptions&>(groups[g].options());
  };
  const std::vector<double> want_wd = {c.backbone_weight_decay, 0.0, c.weight_decay, 0.0};
  const std::vector<double> want_lr = {c.lr * c.backbone_lr_factor, c.lr * c.backbone_lr_factor, c.lr, c.lr};
  for (size_t g = 0; g < groups.size(); ++g) {
    EXPECT_EQ(options(g).weight_decay(), want_wd[g]) << opt.group_names()[g];
    EXPECT_EQ(options(g).lr(), want_lr[g]) << opt.group_names()[g];
  }
  // The group of each parameter, by name; each in exactly one.
  std::map<std::string, std::string> group_of;
  for (const auto& item : m->named_parameters()) {
    int found = 0;
    for (size_t g = 0; g < groups.size(); ++g) {
      for (const auto& p : groups[g].params()) {
        if (p.unsafeGetTensorImpl() == item.value().unsafeGetTensorImpl()) {
          ++found;
          group_of[item.key()] = opt.group_names()[g];
        }
      }
    }
    EXPECT_EQ(found, 1) << item.key();
  }
  size_t in_groups = 0;
  for (const auto& g : groups) in_groups += g.params().size();
  EXPECT_EQ(in_groups, m->named_parameters().size());
  const std::string layer = "encoder.backbone.encoder.layer.0.";
  const std::map<std::string, std::string> examples = {
      // backbone, decayed: a linear weight and the patch convolution
      {layer + "mlp.fc1.weight", "backbone"},
      {layer + "attention.attention.query.weight", "backbone"},
      {"encoder.backbone.embeddings.patch_embeddings.projection.weight", "backbone"},
      // backbone, not decayed: a LayerNorm weight, a bias, a layer-scale gamma, the tokens, the position
      // table
      {layer + "norm1.weight", "backbone/no_decay"},
      {"encoder.backbone.layernorm.weight", "backbone/no_decay"},
      {layer + "attention.attention.query.bias", "backbone/no_decay"},
      {layer + "layer_scale1.lambda1", "backbone/no_decay"},
      {"encoder.backbone.embeddings.cls_token", "backbone/no_decay"},
      {"encoder.backbone.embeddings.mask_token", "backbone/no_decay"},
      {"encoder.backbone.embeddings.position_embeddings", "backbone/no_decay"},
      // heads, decayed: linear and convolution weights
      {"hand.joint0.weight", "heads"},
      {"hand.enc0.weight", "heads"},
      {"refinement.conv0.weight", "heads"},
      {"fusion.attn.q.weight", "heads"},
      // heads, not decayed: a LayerNorm weight, a bias, a σ scale, the task token, the queries, the anchors
      {"hand.enc_norm.weight", "heads/no_decay"},
      {"hand.joint0.bias", "heads/no_decay"},
      {"hand.enc0.sigma", "heads/no_decay"},
      {"encoder.task_embedding", "heads/no_decay"},
      {"objects.queries", "heads/no_decay"},
      {"contacts.queries", "heads/no_decay"},
      {"hand.anchor", "heads/no_decay"},
      {"objects.anchor", "heads/no_decay"},
  };
  for (const auto& [name, group] : examples) {
    ASSERT_TRUE(group_of.count(name)) << name << " is not a parameter of tiny";
    EXPECT_EQ(group_of.at(name), group) << name;
  }
  // The rule holds for every parameter, not just the examples: decayed exactly when a >= 2-D ".weight".
  for (const auto& item : m->named_parameters()) {
    const std::string& name = item.key();
    const bool matrix =
        item.value().dim() >= 2 && name.size() > 7 && name.substr(name.size() - 7) == ".weight";
    const std::string part = name.rfind("encoder.backbone.", 0) == 0 ? "backbone" : "heads";
    EXPECT_EQ(group_of.at(name), matrix ? part : part + "/no_decay") << name;
  }
  // One LR per part in the logs, whatever the decay split.
  EXPECT_EQ(opt.lrs().size(), 2u);
  // Upstream's choice on request: every parameter decayed, two groups.
  c.decay_every_parameter = true;
  TrainingOptimizer all(*m, c);
  EXPECT_EQ(all.group_names(), (std::vector<std::string>{"backbone", "heads"}));
}

TEST(TrainConfig, AConfigJsonWithoutTheDecayKeyResumesWithDecayOnEveryParameter) {
  // Runs written before optim.decay_every_parameter existed decayed everything; a resume must train the same.
  nlohmann::json old = to_json(TrainConfig{});
  old.erase("optim.decay_every_parameter");
  EXPECT_TRUE(from_json(old, "old/config.json").decay_every_parameter);
  EXPECT_FALSE(from_json(to_json(TrainConfig{}), "config.json").decay_every_parameter);
  EXPECT_FALSE(TrainConfig{}.decay_every_parameter);
}

TEST(Trainer, RestoredStateContinuesBitForBit) {
  // Steps 1-3, checkpoint, steps 4-5 — against a fresh trainer restored from that checkpoint.
  const auto policy = precision::PrecisionPolicy::parse("fp32");
  TrainConfig c;
  c.policy = "fp32";
  c.warmup_steps = 2;
  Schedule s;
  s.warmup_steps = 2;
  s.total_steps = 5;
  torch::manual_seed(7);
  Trainer a(tiny_model(policy), c, s);
  for (uint64_t i = 0; i < 3; ++i) a.step({tiny_batch(policy, i)});
  const Checkpoint ck = a.make_checkpoint(TrainState{});
  std::vector<double> want;
  for (uint64_t i = 3; i < 5; ++i) want.push_back(a.step({tiny_batch(policy, i)}).loss);

  torch::manual_seed(999);  // restore() must bring the RNG back
  Trainer b(tiny_model(policy), c, s);
  TrainState st;
  st.step = 3;
  Checkpoint ck3 = ck;
  ck3.state = st;
  b.restore(ck3, "memory");
  std::vector<double> got;
  for (uint64_t i = 3; i < 5; ++i) got.push_back(b.step({tiny_batch(policy, i)}).loss);
  EXPECT_EQ(got, want);
  for (const auto& item : a.model()->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), b.model()->named_parameters()[item.key()])) << item.key();
  for (const auto& [k, v] : a.ema()->state_tensors())
    EXPECT_TRUE(torch::equal(v, b.ema()->state_tensors().at(k))) << k;
}

TEST(Trainer, AccumulationOfTheSameBatchTwiceEqualsOneStep) {
  const auto policy = precision::PrecisionPolicy::parse("fp64");
  TrainConfig c;
  c.policy = "fp64";
  c.dropout = false;
  c.ema_decay = 0.0;
  const TensorMap batch = tiny_batch(policy, 11);
  Trainer one(tiny_model(policy), c, Schedule{});
  Trainer two(tiny_model(policy), c, Schedule{});
  const auto r1 = one.step({batch});
  const auto r2 = two.step({batch, batch});
  EXPECT_NEAR(r1.loss, r2.loss, 1e-12);
  EXPECT_NEAR(r1.grad_norm, r2.grad_norm, 1e-9 * r1.grad_norm);
  for (const auto& item : one.model()->named_parameters()) {
    const torch::Tensor other = two.model()->named_parameters()[item.key()];
    EXPECT_LT((item.value() - other).abs().max().item<double>(), 1e-12) << item.key();
  }
}

TEST(Trainer, NonFiniteStepIsSkippedAndChangesNothing) {
  const auto policy = precision::PrecisionPolicy::parse("fp32");
  TrainConfig c;
  c.policy = "fp32";
  c.dropout = false;
  Trainer t(tiny_model(policy), c, Schedule{});
  TensorMap batch = tiny_batch(policy, 5);
  batch["joint_3d"] = batch["joint_3d"].clone();
  batch["joint_3d"][0][0][0] = std::numeric_limits<float>::quiet_NaN();
  std::map<std::string, torch::Tensor> before;
  for (const auto& item : t.model()->named_parameters()) before[item.key()] = item.value().detach().clone();
  const auto r = t.step({batch});
  EXPECT_TRUE(r.skipped);
  EXPECT_EQ(t.steps(), 0);
  EXPECT_EQ(t.ema()->updates(), 0);
  for (const auto& item : t.model()->named_parameters())
    EXPECT_TRUE(torch::equal(before[item.key()], item.value()));
}

TEST(Ema, RampedDecayAndApplyRestore) {
  const auto policy = precision::PrecisionPolicy::parse("fp32");
  model::AmtModel m = tiny_model(policy);
  Ema ema(*m, 0.999);
  torch::Tensor p;
  for (const auto& item : m->named_parameters()) {
    if (item.key().find("weight") != std::string::npos && item.value().dim() == 2) {
      p = item.value();
      break;
    }
  }
  ASSERT_TRUE(p.defined());
  const torch::Tensor p0 = p.detach().clone();
  {
    torch::NoGradGuard g;
    p.add_(1.0);
  }
  ema.update(*m);  // decay min(0.999, 1/10) = 0.1: shadow = 0.1 p0 + 0.9 (p0 + 1)
  ema.apply(*m);
  EXPECT_LT((p - (p0 + 0.9)).abs().max().item<double>(), 1e-6);
  ema.restore(*m);
  EXPECT_LT((p - (p0 + 1.0)).abs().max().item<double>(), 1e-7);
}

TEST(Checkpoint, AtomicFoldersLatestBestAndPruning) {
  const ScratchDir scratch;
  const fs::path run = scratch.path();
  const auto policy = precision::PrecisionPolicy::parse("fp32");
  TrainConfig c;
  c.policy = "fp32";
  Trainer t(tiny_model(policy), c, Schedule{});
  for (int64_t step : {1, 2, 3, 4, 5}) {
    TrainState s;
    s.step = step;
    s.epoch = step;
    save_checkpoint(run.string(), t.make_checkpoint(s), step == 2, 2);
  }
  std::vector<std::string> kept;
  for (const auto& e : fs::directory_iterator(run / "checkpoints"))
    if (e.is_directory()) kept.push_back(e.path().filename().string());
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(kept, (std::vector<std::string>{"step-000002", "step-000004", "step-000005"}));
  const Checkpoint back = load_checkpoint(run.string());  // the run folder → latest
  EXPECT_EQ(back.state.step, 5);
  EXPECT_EQ(load_checkpoint((run / "checkpoints" / "step-000002").string()).state.best_checkpoint,
            "step-000002");
  for (const auto& [k, v] : back.model) EXPECT_TRUE(torch::equal(v, t.model()->named_parameters()[k])) << k;
  // The backbone file loads like a downloaded HF checkpoint (config from its metadata).
  const auto backbone =
      model::load_backbone((run / "checkpoints" / "step-000005" / "backbone.safetensors").string());
  EXPECT_EQ(backbone->config().hidden_size, t.model()->config().backbone.hidden_size);
  // A truncated file is an error naming it, not a silent partial load.
  const fs::path model_file = run / "checkpoints" / "step-000005" / "model.safetensors";
  fs::resize_file(model_file, fs::file_size(model_file) / 2);
  EXPECT_THROW(load_checkpoint(run.string()), Error);
}

// Two DexYCB trees with the same folder name get their own caches (a shared one would train on the other
// tree's images); the same tree, however spelled, reuses its own.
TEST(DataSetup, RealTreeCachesAreTiedToTheTreeNotItsFolderName) {
  const std::string a = real_tree_cache_dir("/data/one/dexycb", "runs");
  const std::string b = real_tree_cache_dir("/data/two/dexycb", "runs");
  EXPECT_NE(a, b);
  EXPECT_NE(a.find("cache-dexycb-"), std::string::npos) << a;
  EXPECT_EQ(a, real_tree_cache_dir("/data/one/./dexycb/", "runs"));
}

}  // namespace
}  // namespace amt::trainer
