// The AMT reference model: modules, output contract (names, shapes, P5 dtypes), init order, precision
// agreement, batch invariance and the fault switches of the seed bugs.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>

#include "conformance/lib/compare_gtest.hpp"
#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/model/sigma_linear.hpp"
#include "reference/model/tests/amt_test_util.hpp"
#include "reference/model/weights_loader.hpp"
#include "reference/precision/faults.hpp"
#include "reference/train/losses.hpp"

namespace amt::model::testing {
namespace {

constexpr int64_t kH = 56, kW = 84;  // a 4×6 patch grid (rectangular)

amt::TensorMap make_batch(int64_t B, torch::ScalarType image_dt, uint64_t seed, bool with_e = false) {
  amt::TensorMap b{{"image", random_image(B, kH, kW, image_dt, seed)}, {"K", camera_k(B, kH, kW)}};
  if (with_e) b["E"] = camera_e(B);
  return b;
}

TensorMap run(const PrecisionPolicy& policy, const amt::TensorMap& batch) {
  torch::NoGradGuard no_grad;
  return tiny_model(policy)->forward(precision::conform_batch(batch, policy), policy);
}

const std::vector<PolicyKind> kPolicies = {PolicyKind::kFp32, PolicyKind::kBf16Autocast,
                                           PolicyKind::kBf16Pure, PolicyKind::kFp64};

TEST(AmtSigmaLinear, RowNormalisedWithScalarGain) {
  SigmaLinear l(5, 4);
  torch::NoGradGuard g;
  l->sigma.fill_(2.5);
  l->bias.copy_(torch::arange(4, torch::kFloat));
  const torch::Tensor x = torch::randn({3, 5});
  const torch::Tensor w = l->weight.to(torch::kDouble);
  const torch::Tensor expected =
      torch::matmul(x.to(torch::kDouble), (2.5 * w / (w.norm(2, {1}, true) + 1e-8)).t()) +
      torch::arange(4, torch::kDouble);
  EXPECT_CLOSE(l(x).to(torch::kDouble), expected,
               conformance::CloseOptions{1e-5, 1e-6, false, true, -1, "sigma linear"});
  // Row norms of the effective weight are σ whatever W's scale.
  l->weight.mul_(37.0);
  EXPECT_CLOSE(l->effective_weight().norm(2, {1}), torch::full({4}, 2.5f));
}

// The names forward() returns when K is given: the P5 table of docs/precision.md has one row for each.
const std::vector<std::string> kOutputNames = {
    "hand_joints",           "hand_joints_coarse", "hand_confidence",    "hand_shape",
    "refinement_confidence", "object_positions",   "object_rotations",   "object_confidence",
    "object_class_logits",   "contact_points",     "contact_confidence", "contact_types",
    "contact_forces",        "interaction_type",   "features/cls",       "features/global",
    "features/hand"};

TEST(AmtModel, OutputNamesAndShapes) {
  const PrecisionPolicy p(PolicyKind::kFp32);
  const TensorMap out = run(p, make_batch(2, torch::kByte, 1));
  std::vector<std::string> names;
  for (const auto& kv : out) names.push_back(kv.first);
  std::vector<std::string> want = kOutputNames;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(names, want);
  const auto shape = [&](const char* n) { return out.at(n).sizes().vec(); };
  using V = std::vector<int64_t>;
  EXPECT_EQ(shape("hand_joints"), (V{2, 21, 3}));
  EXPECT_EQ(shape("hand_joints_coarse"), (V{2, 21, 3}));
  EXPECT_EQ(shape("hand_confidence"), (V{2, 21}));
  EXPECT_EQ(shape("hand_shape"), (V{2, 10}));
  EXPECT_EQ(shape("object_positions"), (V{2, 10, 3}));
  EXPECT_EQ(shape("object_rotations"), (V{2, 10, 6}));
  EXPECT_EQ(shape("object_confidence"), (V{2, 10}));
  EXPECT_EQ(shape("object_class_logits"), (V{2, 10, 100}));
  EXPECT_EQ(shape("contact_points"), (V{2, 10, 3}));
  EXPECT_EQ(shape("contact_confidence"), (V{2, 10}));
  EXPECT_EQ(shape("contact_types"), (V{2, 10, 4}));
  EXPECT_EQ(shape("contact_forces"), (V{2, 10, 3}));
  EXPECT_EQ(shape("interaction_type"), (V{2, 6}));
  EXPECT_EQ(shape("features/cls"), (V{2, 192}));
  EXPECT_EQ(shape("features/global"), (V{2, 192}));
  // The refinement moved the joints, and they are in front of the camera.
  EXPECT_GT((out.at("hand_joints") - out.at("hand_joints_coarse")).abs().max().item<double>(), 0.0);
  EXPECT_GT(out.at("hand_joints").select(2, 2).min().item<double>(), 0.3);
}

TEST(AmtModel, WithoutCameraHandJointsAreCoarse) {
  const PrecisionPolicy p(PolicyKind::kFp32);
  amt::TensorMap b = make_batch(1, torch::kFloat, 2);
  b.erase("K");
  const TensorMap out = run(p, b);
  EXPECT_TRUE(torch::equal(out.at("hand_joints"), out.at("hand_joints_coarse")));
  EXPECT_EQ(out.count("refinement_confidence"), 0u);
}

// --- P5: the docs/precision.md table is the contract; parse it and check every output ---------------------
std::map<std::string, std::map<std::string, std::string>> read_p5_table() {
  std::ifstream in(::amt::testing::source_dir() + "/docs/precision.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const auto start = text.find("## Output dtypes (P5)");
  EXPECT_NE(start, std::string::npos) << "docs/precision.md has no '## Output dtypes (P5)' section";
  std::map<std::string, std::map<std::string, std::string>> table;  // output → policy → dtype
  if (start == std::string::npos) return table;
  std::istringstream lines(text.substr(start));
  std::string line;
  std::vector<std::string> header;
  auto cells = [](const std::string& l) {
    std::vector<std::string> c;
    std::stringstream s(l);
    std::string cell;
    std::getline(s, cell, '|');
    while (std::getline(s, cell, '|')) {
      cell = std::regex_replace(cell, std::regex("^\\s+|\\s+$|`"), "");
      c.push_back(cell);
    }
    if (!c.empty() && c.back().empty()) c.pop_back();
    return c;
  };
  while (std::getline(lines, line)) {
    if (line.rfind("|", 0) != 0) {
      if (!header.empty()) break;
      continue;
    }
    auto c = cells(line);
    if (header.empty()) {
      header = c;
      continue;
    }
    if (c.empty() || c[0].find("---") != std::string::npos) continue;
    std::stringstream names(c[0]);
    std::string name;
    while (std::getline(names, name, ',')) {
      name = std::regex_replace(name, std::regex("^\\s+|\\s+$"), "");
      for (size_t i = 1; i < c.size() && i < header.size(); ++i) table[name][header[i]] = c[i];
    }
  }
  return table;
}

std::string short_dtype(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat:
      return "fp32";
    case torch::kDouble:
      return "fp64";
    case torch::kBFloat16:
      return "bf16";
    case torch::kHalf:
      return "fp16";
    default:
      return c10::toString(t);
  }
}

TEST(AmtModel, OutputDtypesMatchDocsTable) {
  const auto table = read_p5_table();
  for (const auto& name : kOutputNames) {
    ASSERT_TRUE(table.count(name)) << "docs/precision.md P5 table has no row for " << name;
  }
  for (const PolicyKind kind : kPolicies) {
    const PrecisionPolicy p(kind);
    const TensorMap out = run(p, make_batch(2, torch::kBFloat16, 3, true));
    for (const auto& [name, t] : out) {
      ASSERT_TRUE(table.count(name)) << name;
      ASSERT_TRUE(table.at(name).count(p.name())) << "no column " << p.name();
      EXPECT_EQ(short_dtype(t.scalar_type()), table.at(name).at(p.name())) << name << " under " << p.name();
      // And the rule the table states (docs/design.md P5).
      if (!is_feature_output(name)) {
        EXPECT_EQ(t.scalar_type(), p.output_dtype()) << name;
      }
    }
  }
}

// --- init order: pretrained backbone weights are loaded after head init and never touched -----------------
TEST(AmtModel, PretrainedBackboneWeightsAreBitIdentical) {
  AMT_REQUIRE_ORACLE_FILE(weights, "dinov2_weights.safetensors");
  const io::Safetensors file = io::read_safetensors(weights);
  BackboneLoadOptions opt;
  opt.kind = BackboneKind::kDinov2;
  auto backbone = load_backbone(weights, opt);
  AmtConfig cfg = tiny_config();
  cfg.backbone = backbone->config();
  AmtModel model(cfg, 123, backbone);
  const auto params = model->encoder->backbone->named_parameters();
  ASSERT_EQ(params.size(), file.tensors.size());
  for (const auto& p : params) {
    ASSERT_TRUE(file.has(p.key())) << p.key();
    EXPECT_TRUE(torch::equal(p.value(), file.at(p.key()).to(p.value().scalar_type()))) << p.key();
  }
  // And the heads did get initialised (not left at LibTorch defaults): same seed, same heads.
  AmtModel again(cfg, 123, load_backbone(weights, opt));
  EXPECT_TRUE(torch::equal(model->hand->joint1->weight, again->hand->joint1->weight));
}

TEST(AmtModel, PretrainedBackboneLoadedIntoABuiltModelIsBitIdentical) {
  AMT_REQUIRE_ORACLE_FILE(weights, "dinov2_weights.safetensors");
  const io::Safetensors file = io::read_safetensors(weights);
  BackboneLoadOptions opt;
  opt.kind = BackboneKind::kDinov2;
  AmtConfig cfg = tiny_config();
  cfg.backbone = load_backbone(weights, opt)->config();
  AmtModel model(cfg, 9), reference(cfg, 9);
  load_pretrained_backbone(*model, weights, PrecisionPolicy());
  for (const auto& p : model->encoder->backbone->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), file.at(p.key()).to(p.value().scalar_type()))) << p.key();
  }
  // The heads are untouched by the load.
  const auto ref = reference->named_parameters();
  for (const auto& p : model->named_parameters()) {
    if (p.key().rfind("encoder.backbone.", 0) == 0) continue;
    EXPECT_TRUE(torch::equal(p.value(), ref[p.key()])) << p.key();
  }
}

TEST(AmtModel, SeededInitIsDeterministicAndPolicyIndependent) {
  const AmtConfig cfg = tiny_config();
  AmtModel a(cfg, 5), b(cfg, 5), c(cfg, 6);
  const auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
  bool any_diff = false;
  for (const auto& kv : pa) {
    EXPECT_TRUE(torch::equal(kv.value(), pb[kv.key()])) << kv.key();
    any_diff = any_diff || !torch::equal(kv.value(), pc[kv.key()]);
  }
  EXPECT_TRUE(any_diff);
  // The head inits upstream intended (and then overwrote) are in place: confidence bias 2.0, joint residual
  // head N(0, 0.001²), σ = 1, LayerNorm 1/0, and the anchors.
  EXPECT_TRUE(torch::all(a->hand->conf1->bias == 2.0f).item<bool>());
  EXPECT_NEAR(a->hand->joint1->weight.std().item<double>(), 1e-3, 2e-4);
  EXPECT_TRUE(torch::all(a->hand->enc0->sigma == 1.0f).item<bool>());
  EXPECT_TRUE(torch::all(a->encoder->proj_norm->weight == 1.0f).item<bool>());
  EXPECT_TRUE(
      torch::all(a->hand->anchor.select(1, 2) == static_cast<float>(cfg.hand.init_depth)).item<bool>());
  // The fp64 model holds exactly the fp32 values (the seed init runs in fp32, then the policy casts).
  AmtModel d = make_amt_model(cfg, 5, PrecisionPolicy(PolicyKind::kFp64));
  for (const auto& kv : d->named_parameters()) {
    EXPECT_TRUE(torch::equal(kv.value(), pa[kv.key()].to(torch::kDouble))) << kv.key();
  }
}

// --- precision agreement --------------------------------------------------------------------------------
TEST(AmtModel, Bf16AutocastRefinedJointsWithinOneMillimetre) {
  double worst = 0.0, coarse_worst = 0.0;
  for (uint64_t seed = 0; seed < 3; ++seed) {
    const auto batch = make_batch(3, torch::kByte, 100 + seed, seed == 1);
    const TensorMap ref = run(PrecisionPolicy(PolicyKind::kFp32), batch);
    const TensorMap got = run(PrecisionPolicy(PolicyKind::kBf16Autocast), batch);
    const double mm = (got.at("hand_joints") - ref.at("hand_joints")).norm(2, {2}).max().item<double>() * 1e3;
    worst = std::max(worst, mm);
    const double coarse =
        (got.at("hand_joints_coarse") - ref.at("hand_joints_coarse")).norm(2, {2}).max().item<double>() * 1e3;
    coarse_worst = std::max(coarse_worst, coarse);
  }
  std::cout << "[ measured ] bf16-autocast vs fp32 refined joints: max " << worst
            << " mm (coarse joints: " << coarse_worst << " mm)\n";
  EXPECT_LE(worst, 1.0);
}

TEST(AmtModel, Fp32AgreesWithFp64) {
  const auto batch = make_batch(2, torch::kByte, 7, true);
  const TensorMap ref = run(PrecisionPolicy(PolicyKind::kFp64), batch);
  const TensorMap got = run(PrecisionPolicy(PolicyKind::kFp32), batch);
  const double mm =
      (got.at("hand_joints").to(torch::kDouble) - ref.at("hand_joints")).abs().max().item<double>() * 1e3;
  EXPECT_LE(mm, 1e-3);
}

// V4: an image's outputs do not depend on the rest of its batch.
TEST(AmtModel, BatchInvarianceFp32) {
  const PrecisionPolicy p(PolicyKind::kFp32);
  const auto batch = make_batch(3, torch::kFloat, 11, true);
  const TensorMap all = run(p, batch);
  amt::TensorMap one;
  for (const auto& [k, v] : batch) one[k] = v.narrow(0, 1, 1);
  const TensorMap single = run(p, one);
  for (const auto& [name, t] : single) {
    EXPECT_CLOSE(all.at(name).narrow(0, 1, 1), t,
                 conformance::CloseOptions{1e-4, 1e-5, false, true, -1, name});
  }
}

// In training mode too (dropout off so the comparison is deterministic): this is what rules out upstream's
// BatchNorm2d in the refinement, which normalises with the statistics of the whole batch when training.
TEST(AmtModel, BatchInvarianceInTrainingModeFp32) {
  const PrecisionPolicy p(PolicyKind::kFp32);
  AmtConfig cfg = tiny_config();
  cfg.dropout = 0.0;
  AmtModel model = make_amt_model(cfg, 2, p);
  model->train();
  const auto batch = make_batch(3, torch::kFloat, 12, true);
  amt::TensorMap one;
  for (const auto& [k, v] : batch) one[k] = v.narrow(0, 2, 1);
  torch::NoGradGuard g;
  const TensorMap all = model->forward(precision::conform_batch(batch, p), p);
  const TensorMap single = model->forward(precision::conform_batch(one, p), p);
  for (const auto& [name, t] : single) {
    EXPECT_CLOSE(all.at(name).narrow(0, 2, 1), t,
                 conformance::CloseOptions{1e-4, 1e-5, false, true, -1, name});
  }
}

// --- fault switches: bypass the boundary or an island and the model forward throws ---------------------
TEST(AmtModelFaults, ImageBoundaryBypassThrows) {  // seeds 000/001
  const PrecisionPolicy p(PolicyKind::kFp32);
  const auto batch = make_batch(1, torch::kBFloat16, 20);
  EXPECT_NO_THROW(run(p, batch));
  ScopedFault f("boundary.image_dtype");
  EXPECT_THROW(run(p, batch), std::exception);
}

TEST(AmtModelFaults, ProjectionIslandBypassThrows) {  // seed 002
  // With the camera boundary bypassed too, K arrives in bf16 while the points are fp32: the island still
  // makes it work; without the island the matmul meets two dtypes, as upstream did.
  const PrecisionPolicy p(PolicyKind::kBf16Pure);
  amt::TensorMap batch = make_batch(1, torch::kFloat, 21, true);
  batch["K"] = batch["K"].to(torch::kBFloat16);
  ScopedFault camera("boundary.camera_dtype");
  EXPECT_NO_THROW(run(p, batch));
  ScopedFault f("island.projection_no_cast");
  EXPECT_THROW(run(p, batch), std::exception);
}

// LibTorch 1.13 had no bf16 grid_sample CPU kernel, so bypassing the island threw; 2.13 has one, and the
// bypass now samples at bf16-rounded coordinates: the model runs, and its refined joints move.
TEST(AmtModelFaults, GridSampleIslandBypassMovesTheSamples) {
  const PrecisionPolicy p(PolicyKind::kBf16Pure);
  const auto batch = make_batch(1, torch::kFloat, 23);
  const TensorMap island = run(p, batch);
  ScopedFault f("island.grid_sample_feature_dtype");
  const TensorMap bypass = run(p, batch);
  EXPECT_FALSE(torch::equal(island.at("hand_joints"), bypass.at("hand_joints")));
}

// The optional token projector (s = 2) and the DINOv3 backbone (patch 16, registers, RoPE) under every
// policy.
AmtConfig tiny_variant(const std::string& backbone, int64_t shuffle) {
  return parse_amt_config("name: variant\nbackbone: {preset: " + backbone +
                              "}\nimage: {max_side: 224, token_shuffle: " + std::to_string(shuffle) +
                              "}\nmodel: {fusion_heads: 3, hand: {hidden: 64, aux_hidden: 32},"
                              " object: {layers: 1, heads: 3, ff: 128, head_hidden: 64},"
                              " contact: {hidden: 48, layers: 1, heads: 3, ff: 96, interaction_hidden: 32},"
                              " refinement: {feature_dim: 32, hidden: 64}}",
                          "variant.yaml");
}

TEST(AmtModel, TokenProjectorAndDinov3RunUnderEveryPolicy) {
  struct Variant {
    std::string backbone;
    int64_t shuffle, H, W;
  };
  for (const Variant& v : {Variant{"dinov2-tiny", 2, 56, 84}, Variant{"dinov3-tiny", 1, 48, 80},
                           Variant{"dinov3-tiny", 2, 64, 96}}) {
    const AmtConfig cfg = tiny_variant(v.backbone, v.shuffle);
    EXPECT_EQ(static_cast<bool>(AmtModel(cfg, 1)->projector), v.shuffle > 1);
    for (const PolicyKind kind : kPolicies) {
      const PrecisionPolicy p(kind);
      AmtModel model = make_amt_model(cfg, 1, p);
      model->eval();
      const amt::TensorMap b{{"image", random_image(2, v.H, v.W, torch::kByte, 5)},
                             {"K", camera_k(2, v.H, v.W)}};
      TensorMap out;
      {
        torch::NoGradGuard g;
        ASSERT_NO_THROW(out = model->forward(precision::conform_batch(b, p), p))
            << v.backbone << " " << p.name();
      }
      EXPECT_EQ(out.at("hand_joints").scalar_type(), p.output_dtype());
      EXPECT_TRUE(torch::isfinite(out.at("hand_joints")).all().item<bool>());
    }
  }
  // A patch grid the projector cannot shuffle (3×6 with s = 2) is a ShapeError naming both numbers.
  AmtModel model = make_amt_model(tiny_variant("dinov2-tiny", 2), 1, PrecisionPolicy());
  const amt::TensorMap b{{"image", random_image(1, 42, 84, torch::kFloat, 5)}, {"K", camera_k(1, 42, 84)}};
  torch::NoGradGuard g;
  EXPECT_THROW(model->forward(precision::conform_batch(b, PrecisionPolicy()), PrecisionPolicy()), ShapeError);
}

TEST(AmtModel, RejectsParametersOfAnotherPolicy) {
  const auto batch = make_batch(1, torch::kFloat, 24);
  AmtModel& fp32 = tiny_model(PrecisionPolicy(PolicyKind::kFp32));
  const PrecisionPolicy pure(PolicyKind::kBf16Pure);
  torch::NoGradGuard g;
  EXPECT_THROW(fp32->forward(precision::conform_batch(batch, pure), pure), DtypeError);
  EXPECT_THROW(fp32->forward({{"K", camera_k(1, kH, kW)}}, PrecisionPolicy()), ValueError);
}

}  // namespace
}  // namespace amt::model::testing
