// Strict HF-key loading and config resolution.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "conformance/testing/errors.hpp"
#include "conformance/testing/oracle.hpp"
#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/model/dinov2.hpp"
#include "reference/model/dinov3.hpp"
#include "reference/model/tests/backbone_test_util.hpp"

namespace amt::model::testing {
namespace {

namespace fs = std::filesystem;

// A fresh temporary folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / ("amt_model_" + std::string(info->test_suite_name()) + "_" +
                                         info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::string checkpoint_error(const std::function<void()>& f) {
  return amt::testing::thrown_message<CheckpointError>(f);
}

bool has(const std::string& msg, const std::string& part) {
  return msg.find(part) != std::string::npos;
}

TEST(WeightsLoader, NamedParametersAreTheHfKeys) {
  for (const char* name : {"dinov2-tiny", "dinov3-tiny"}) {
    auto model = make_backbone(preset(name));
    std::set<std::string> keys;
    for (const auto& p : model->named_parameters()) keys.insert(p.key());
    if (std::string(name) == "dinov2-tiny") {
      EXPECT_EQ(keys.size(), 79u);  // the oracle file's tensor count
      for (const char* k :
           {"embeddings.cls_token", "embeddings.mask_token", "embeddings.position_embeddings",
            "embeddings.patch_embeddings.projection.weight", "encoder.layer.3.attention.attention.query.bias",
            "encoder.layer.0.attention.output.dense.weight", "encoder.layer.2.layer_scale2.lambda1",
            "encoder.layer.1.mlp.fc2.bias", "layernorm.weight"}) {
        EXPECT_TRUE(keys.count(k)) << k;
      }
    } else {
      EXPECT_EQ(keys.size(), 75u);
      for (const char* k : {"embeddings.register_tokens", "embeddings.patch_embeddings.bias",
                            "layer.0.attention.q_proj.bias", "layer.0.attention.k_proj.weight",
                            "layer.3.attention.o_proj.weight", "layer.1.mlp.up_proj.weight", "norm.bias"}) {
        EXPECT_TRUE(keys.count(k)) << k;
      }
      EXPECT_FALSE(keys.count("layer.0.attention.k_proj.bias")) << "DINOv3 has no key bias";
    }
  }
}

// Parameter counts of the S presets as HF's checkpoints have them (docs/upstream.md VP5).
TEST(WeightsLoader, SmallPresetsHaveHfParameterCounts) {
  auto count = [](const Backbone& m, size_t* tensors) {
    int64_t n = 0;
    *tensors = 0;
    for (const auto& p : m.parameters()) {
      n += p.numel();
      ++*tensors;
    }
    return n;
  };
  size_t tensors = 0;
  EXPECT_EQ(count(*make_backbone(preset("dinov2-s14")), &tensors), 22056576);
  EXPECT_EQ(tensors, 223u);
  EXPECT_EQ(count(*make_backbone(preset("dinov3-s16")), &tensors), 21596544);
  EXPECT_EQ(tensors, 211u);
}

// Builds a damaged copy of the oracle weights (renamed key, wrong shape, missing tensor, integer dtype, an
// extra HF-shaped key the model does not have) and requires ONE CheckpointError that lists every problem on
// one line.
TEST(WeightsLoader, Dinov2DamagedCheckpointListsEveryProblem) {
  AMT_REQUIRE_ORACLE_FILE(weights, "dinov2_weights.safetensors");
  TempDir dir;
  io::Safetensors src = io::read_safetensors(weights);
  auto t = src.tensors;
  t["encoder.layer.0.norm_1.weight"] = t.at("encoder.layer.0.norm1.weight");  // renamed
  t.erase("encoder.layer.0.norm1.weight");
  t["layernorm.bias"] = torch::zeros({191});                                     // wrong shape
  t.erase("embeddings.mask_token");                                              // missing
  t["encoder.layer.2.layer_scale1.lambda1"] = torch::ones({192}, torch::kLong);  // wrong dtype
  const std::string bad = dir.file("damaged.safetensors");
  io::write_safetensors(bad, t, src.metadata);

  const std::string msg = checkpoint_error([&] { load_backbone(bad); });
  ASSERT_FALSE(msg.empty()) << "no CheckpointError";
  std::printf("    %s\n", msg.c_str());
  EXPECT_TRUE(has(msg, bad));
  EXPECT_TRUE(has(msg, "5 problems"));
  EXPECT_TRUE(has(msg, "missing: embeddings.mask_token, encoder.layer.0.norm1.weight"));
  EXPECT_TRUE(has(msg, "unexpected: encoder.layer.0.norm_1.weight"));
  EXPECT_TRUE(has(msg, "layernorm.bias (file [191] vs model [192])"));
  EXPECT_TRUE(has(msg, "encoder.layer.2.layer_scale1.lambda1 (dtype Long is not a float dtype)"));
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line";

  // Non-strict loading tolerates missing and unexpected keys, never a wrong shape or dtype.
  BackboneLoadOptions lenient;
  lenient.strict = false;
  const std::string lenient_msg = checkpoint_error([&] { load_backbone(bad, lenient); });
  EXPECT_TRUE(has(lenient_msg, "layernorm.bias")) << lenient_msg;
  EXPECT_FALSE(has(lenient_msg, "unexpected")) << lenient_msg;

  // The undamaged file loads and every parameter equals its tensor.
  auto model = load_backbone(weights);
  for (const auto& p : model->named_parameters()) EXPECT_TRUE(p.value().equal(src.at(p.key()))) << p.key();
}

TEST(WeightsLoader, Dinov3KeyBiasIsUnexpected) {
  AMT_REQUIRE_ORACLE_FILE(weights, "dinov3_weights.safetensors");
  TempDir dir;
  io::Safetensors src = io::read_safetensors(weights);
  auto t = src.tensors;
  t["layer.1.attention.k_proj.bias"] = torch::zeros({192});  // Meta's masked key bias, which HF drops
  t["embeddings.register_tokens"] = torch::zeros({1, 5, 192});
  const std::string bad = dir.file("dinov3_bad.safetensors");
  io::write_safetensors(bad, t, src.metadata);
  const std::string msg = checkpoint_error([&] { load_backbone(bad); });
  std::printf("    %s\n", msg.c_str());
  EXPECT_TRUE(has(msg, "2 problems")) << msg;
  EXPECT_TRUE(has(msg, "unexpected: layer.1.attention.k_proj.bias")) << msg;
  EXPECT_TRUE(has(msg, "embeddings.register_tokens (file [1,5,192] vs model [1,4,192])")) << msg;
}

// Weights without any config: the error names the file and the places looked in.
TEST(WeightsLoader, MissingConfigIsAConfigError) {
  TempDir dir;
  auto model = make_backbone(preset("dinov2-tiny"));
  std::map<std::string, torch::Tensor> t;
  for (const auto& p : model->named_parameters()) t[p.key()] = p.value();
  const std::string path = dir.file("noconfig.safetensors");
  io::write_safetensors(path, t);
  try {
    load_backbone(path);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(has(e.what(), path)) << e.what();
    EXPECT_TRUE(has(e.what(), "config.json")) << e.what();
  }
  // With the config next to it, the same file loads and reproduces the model.
  write_text(dir.file("config.json"), R"({"model_type": "dinov2", "hidden_size": 192, "num_hidden_layers": 4,
      "num_attention_heads": 3, "mlp_ratio": 4, "layer_norm_eps": 1e-6, "image_size": 518, "patch_size": 14})");
  auto loaded = load_backbone(path);
  for (const auto& p : loaded->named_parameters()) EXPECT_TRUE(p.value().equal(t.at(p.key()))) << p.key();
}

// Precedence: explicit file > config.json beside the weights > __metadata__["config"].
TEST(WeightsLoader, ConfigPrecedence) {
  TempDir dir;
  const std::string weights = dir.file("w.safetensors");
  const std::map<std::string, std::string> meta = {
      {"config", R"({"model_type": "dinov3_vit", "num_hidden_layers": 2})"}};
  EXPECT_EQ(resolve_config(weights, meta).num_layers, 2);
  write_text(dir.file("config.json"), R"({"model_type": "dinov3_vit", "num_hidden_layers": 3})");
  EXPECT_EQ(resolve_config(weights, meta).num_layers, 3);
  write_text(dir.file("explicit.json"), R"({"model_type": "dinov3_vit", "num_hidden_layers": 5})");
  EXPECT_EQ(resolve_config(weights, meta, dir.file("explicit.json")).num_layers, 5);
  // The requested family must match the config's.
  EXPECT_THROW(resolve_config(weights, meta, "", BackboneKind::kDinov2), ConfigError);
}

TEST(VitConfig, ParsesTheOracleConfigs) {
  AMT_REQUIRE_ORACLE_FILE(v2, "dinov2_config.json");
  AMT_REQUIRE_ORACLE_FILE(v3, "dinov3_config.json");
  auto text = [](const std::string& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const VitConfig a = parse_hf_config(text(v2), v2);
  EXPECT_EQ(a.kind, BackboneKind::kDinov2);
  EXPECT_EQ(a.hidden_size, 192);
  EXPECT_EQ(a.num_layers, 4);
  EXPECT_EQ(a.num_heads, 3);
  EXPECT_EQ(a.intermediate_size, 768);
  EXPECT_EQ(a.patch_size, 14);
  EXPECT_EQ(a.pos_table_side(), 37);
  EXPECT_EQ(a.layer_norm_eps, 1e-6);
  EXPECT_FALSE(a.gated_mlp);
  EXPECT_EQ(a.num_register_tokens, 0);
  const VitConfig b = parse_hf_config(text(v3), v3);
  EXPECT_EQ(b.kind, BackboneKind::kDinov3);
  EXPECT_EQ(b.patch_size, 16);
  EXPECT_EQ(b.num_register_tokens, 4);
  EXPECT_EQ(b.layer_norm_eps, 1e-6);
  EXPECT_EQ(b.rope_theta, 100.0);
  EXPECT_FALSE(b.key_bias);
  EXPECT_TRUE(b.query_bias && b.value_bias && b.proj_bias && b.mlp_bias);
}

TEST(VitConfig, GatedMlpFieldsAndErrors) {
  // DINOv2 giant: use_swiglu_ffn → SwiGLU with width (int(6144·2/3)+7)//8·8 = 4096.
  const VitConfig g = parse_hf_config(
      R"({"model_type": "dinov2", "hidden_size": 1536, "num_hidden_layers": 40, "num_attention_heads": 24,
          "mlp_ratio": 4, "use_swiglu_ffn": true})",
      "giant.json");
  EXPECT_TRUE(g.gated_mlp);
  EXPECT_EQ(g.intermediate_size, 4096);
  EXPECT_EQ(preset("dinov2-g14").intermediate_size, 4096);
  // DINOv3 S/16+: both spellings of the gate flag.
  for (const char* flag : {"use_gated_mlp", "use_swiglu_ffn"}) {
    const VitConfig s =
        parse_hf_config(std::string(R"({"model_type": "dinov3_vit", "hidden_act": "silu", ")") + flag +
                            R"(": true, "intermediate_size": 1536})",
                        "splus.json");
    EXPECT_TRUE(s.gated_mlp) << flag;
    EXPECT_EQ(s.activation, Activation::kSilu);
  }
  // Errors name the file and the field.
  try {
    parse_hf_config(R"({"model_type": "dinov2", "layer_norm_eps": "small"})", "bad.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_TRUE(has(e.what(), "bad.json [layer_norm_eps]")) << e.what();
  }
  EXPECT_THROW(parse_hf_config(R"({"model_type": "dinov3_vit", "hidden_act": "gelu_new"})", "x"),
               ConfigError);
  EXPECT_THROW(parse_hf_config(R"({"model_type": "vit"})", "x"), ConfigError);
  EXPECT_THROW(
      parse_hf_config(R"({"model_type": "dinov2", "hidden_size": 100, "num_attention_heads": 3})", "x"),
      ConfigError);
  EXPECT_THROW(parse_hf_config("{not json", "x"), ConfigError);
}

// Gated/SwiGLU and register variants build with HF's key names and run.
TEST(VitConfig, VariantsBuildWithHfKeys) {
  VitConfig g = preset("dinov2-tiny");
  g.gated_mlp = true;
  g.activation = Activation::kSilu;
  g.intermediate_size = 512;
  g.num_register_tokens = 4;
  auto m2 = make_backbone(g);
  const auto p2 = m2->named_parameters();
  ASSERT_TRUE(p2.contains("encoder.layer.0.mlp.weights_in.weight"));
  EXPECT_EQ(p2["encoder.layer.0.mlp.weights_in.weight"].sizes(), torch::IntArrayRef({1024, 192}));
  EXPECT_EQ(p2["encoder.layer.0.mlp.weights_out.weight"].sizes(), torch::IntArrayRef({192, 512}));
  EXPECT_EQ(p2["embeddings.register_tokens"].sizes(), torch::IntArrayRef({1, 4, 192}));
  const BackboneOutput o2 = run_backbone(*m2, torch::randn({2, 3, 28, 42}), PrecisionPolicy());
  EXPECT_EQ(o2.registers.sizes(), torch::IntArrayRef({2, 4, 192}));
  EXPECT_EQ(o2.patch.sizes(), torch::IntArrayRef({2, 6, 192}));

  auto m3 = make_backbone(preset("dinov3-s16plus"));
  const auto p3 = m3->named_parameters();
  for (const char* k :
       {"layer.0.mlp.gate_proj.weight", "layer.0.mlp.up_proj.bias", "layer.11.mlp.down_proj.weight"}) {
    EXPECT_TRUE(p3.contains(k)) << k;
  }
  EXPECT_EQ(p3["layer.0.mlp.gate_proj.weight"].sizes(), torch::IntArrayRef({1536, 384}));
}

}  // namespace
}  // namespace amt::model::testing
