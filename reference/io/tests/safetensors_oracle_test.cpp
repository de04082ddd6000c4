// Reading the upstream-written oracle files (shared/oracle, docs/conformance.md): names, dtypes, shapes,
// metadata, and data checked against what can be recomputed independently (the pixel recipes, fp32 vs fp64
// runs).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "conformance/testing/oracle.hpp"
#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"

namespace {

using amt::io::read_safetensors;
using amt::io::read_safetensors_header;
using amt::io::Safetensors;

int64_t total_numel(const Safetensors& st) {
  int64_t n = 0;
  for (const auto& [name, t] : st.tensors) n += t.numel();
  return n;
}

void expect_tensor(const Safetensors& st, const std::string& name, torch::ScalarType dtype,
                   const std::vector<int64_t>& shape) {
  ASSERT_TRUE(st.has(name)) << name;
  EXPECT_EQ(st.at(name).scalar_type(), dtype) << name;
  EXPECT_EQ(st.at(name).sizes().vec(), shape) << name;
}

// The weights file's "config" metadata is the same JSON as the <model>_config.json beside it.
void expect_config_matches(const Safetensors& st, const std::string& config_file, int64_t patch_size) {
  ASSERT_TRUE(st.metadata.count("config")) << "no config metadata";
  const auto config = nlohmann::json::parse(st.metadata.at("config"));
  EXPECT_EQ(config.at("hidden_size"), 192);
  EXPECT_EQ(config.at("num_hidden_layers"), 4);
  EXPECT_EQ(config.at("patch_size"), patch_size);
  if (auto file = amt::testing::oracle_file(config_file)) {
    std::ifstream in(*file);
    EXPECT_EQ(config, nlohmann::json::parse(in)) << "config metadata differs from " << *file;
  }
}

TEST(SafetensorsOracle, Dinov2WeightsNamesShapesAndConfig) {
  AMT_REQUIRE_ORACLE_FILE(path, "dinov2_weights.safetensors");
  const Safetensors st = read_safetensors(path);
  EXPECT_EQ(st.tensors.size(), 79u);
  EXPECT_EQ(total_numel(st), 2'157'888);
  for (const auto& [name, t] : st.tensors) EXPECT_EQ(t.scalar_type(), torch::kFloat32) << name;
  expect_tensor(st, "embeddings.cls_token", torch::kFloat32, {1, 1, 192});
  expect_tensor(st, "embeddings.mask_token", torch::kFloat32, {1, 192});
  expect_tensor(st, "embeddings.position_embeddings", torch::kFloat32, {1, 1370, 192});
  expect_tensor(st, "embeddings.patch_embeddings.projection.weight", torch::kFloat32, {192, 3, 14, 14});
  expect_tensor(st, "layernorm.weight", torch::kFloat32, {192});
  EXPECT_EQ(st.names.front(), "embeddings.cls_token");  // file order, not name order
  EXPECT_EQ(st.metadata.at("upstream_repo"), "facebookresearch/dinov2");
  expect_config_matches(st, "dinov2_config.json", 14);
  // The recipe sets LayerNorm weights to 1 + 0.1·N(0,1): data read from the wrong offset would not look so.
  const auto ln = st.at("layernorm.weight");
  EXPECT_NEAR(ln.mean().item<double>(), 1.0, 0.05);
  EXPECT_NEAR(ln.std().item<double>(), 0.1, 0.03);
}

TEST(SafetensorsOracle, Dinov3WeightsNamesShapesAndConfig) {
  AMT_REQUIRE_ORACLE_FILE(path, "dinov3_weights.safetensors");
  const Safetensors st = read_safetensors(path);
  EXPECT_EQ(st.tensors.size(), 75u);
  EXPECT_EQ(total_numel(st), 1'929'408);
  expect_tensor(st, "embeddings.cls_token", torch::kFloat32, {1, 1, 192});
  expect_tensor(st, "embeddings.mask_token", torch::kFloat32, {1, 1, 192});
  expect_tensor(st, "embeddings.register_tokens", torch::kFloat32, {1, 4, 192});
  expect_tensor(st, "embeddings.patch_embeddings.weight", torch::kFloat32, {192, 3, 16, 16});
  EXPECT_EQ(st.metadata.at("upstream_repo"), "facebookresearch/dinov3");
  expect_config_matches(st, "dinov3_config.json", 16);
}

TEST(SafetensorsOracle, Dinov2CaseWithF16PixelsAndF64Outputs) {
  AMT_REQUIRE_ORACLE_FILE(path, "dinov2_hf_518x518.safetensors");
  const Safetensors st = read_safetensors(path);
  expect_tensor(st, "pixel_values", torch::kFloat16, {1, 3, 518, 518});
  expect_tensor(st, "cls_f64", torch::kFloat64, {1, 192});
  expect_tensor(st, "cls_f32", torch::kFloat32, {1, 192});
  expect_tensor(st, "patch_f64", torch::kFloat64, {1, 1369, 192});
  expect_tensor(st, "pos_embed_f32", torch::kFloat32, {1, 1370, 192});
  EXPECT_EQ(st.metadata.at("mode"), "hf");
  EXPECT_EQ(st.metadata.at("H"), "518");
  EXPECT_EQ(st.metadata.at("grid_w"), "37");
  EXPECT_NO_THROW(nlohmann::json::parse(st.metadata.at("maxabs_f32_vs_f64")));
}

TEST(SafetensorsOracle, EveryFileReadsAndItsDataIsConsistent) {
  AMT_REQUIRE_ORACLE_FILE(weights, "dinov2_weights.safetensors");
  const auto folder = std::filesystem::path(weights).parent_path();
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() != ".safetensors") continue;
    ++files;
    const std::string path = entry.path().string();
    SCOPED_TRACE(path);
    const Safetensors st = read_safetensors(path);
    ASSERT_FALSE(st.tensors.empty());
    ASSERT_FALSE(st.metadata.empty());

    // The header-only reader lists the same tensors, tiling the data section up to the end of the file.
    std::map<std::string, std::string> meta;
    const auto entries = read_safetensors_header(path, &meta);
    EXPECT_EQ(meta, st.metadata);
    ASSERT_EQ(entries.size(), st.names.size());
    uint64_t data_bytes = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
      EXPECT_EQ(entries[i].name, st.names[i]);
      EXPECT_EQ(entries[i].shape, st.at(entries[i].name).sizes().vec());
      data_bytes += entries[i].end - entries[i].begin;
    }
    EXPECT_LT(data_bytes, std::filesystem::file_size(entry.path()));

    for (const auto& [name, t] : st.tensors)
      EXPECT_TRUE(torch::isfinite(t).all().item<bool>()) << name << " holds NaN or Inf";

    // Case files: the pixels are torch.manual_seed(pixel_seed); torch.randn(shape), stored as their dtype.
    // LibTorch 1.13 draws the same numbers, so the bytes must match exactly.
    if (st.metadata.count("pixel_seed")) {
      const torch::Tensor& pixels = st.at("pixel_values");
      torch::manual_seed(std::stoull(st.metadata.at("pixel_seed")));
      const auto want = torch::randn(pixels.sizes()).to(pixels.scalar_type());
      EXPECT_TRUE(torch::equal(pixels, want)) << "pixel_values differ from their recipe";
    }
    // fp32 and fp64 runs of the same model agree to a few 1e-6 (docs/upstream.md O4), and are not identical.
    if (st.has("cls_f32") && st.has("cls_f64")) {
      const double diff =
          (st.at("cls_f32").to(torch::kFloat64) - st.at("cls_f64")).abs().max().item<double>();
      EXPECT_LT(diff, 1e-5);
      EXPECT_GT(diff, 0.0);
    }
  }
  EXPECT_GE(files, 10);
}

}  // namespace
