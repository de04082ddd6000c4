// The embed subcommand's work (run_embed) on oracle cases and on bad inputs.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "conformance/cli/embed.hpp"
#include "conformance/lib/budgets.hpp"
#include "conformance/testing/oracle.hpp"
#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/model/tests/backbone_test_util.hpp"

namespace amt::model::testing {
using cli::EmbedRequest;
using cli::EmbedSummary;
using cli::run_embed;
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("amt_embed_" + std::to_string(::getpid()) + "_" + name)).string();
}

TEST(Embed, Dinov2Fp64MatchesOracle) {
  AMT_REQUIRE_ORACLE_FILE(weights, "dinov2_weights.safetensors");
  AMT_REQUIRE_ORACLE_FILE(input, "dinov2_meta_224x308.safetensors");
  EmbedRequest r;
  r.kind = BackboneKind::kDinov2;
  r.weights = weights;
  r.input = input;
  r.output = temp_path("v2.safetensors");
  r.interp = PosInterp::kMeta;
  r.dtype = "fp64";
  const EmbedSummary s = run_embed(r);
  EXPECT_EQ(s.grid_h, 16);
  EXPECT_EQ(s.grid_w, 22);
  const io::Safetensors out = io::read_safetensors(r.output);
  const io::Safetensors want = io::read_safetensors(input);
  EXPECT_FALSE(out.has("registers"));
  ASSERT_EQ(out.at("patch").scalar_type(), torch::kDouble);
  // fp64 with upstream's fp32 position table: on this grid LibTorch 2.13's fp32 bicubic rounds a few ulps
  // away from the oracle's 1.13 (oracle_test.cpp), so fp64 meets the fp32 limit here.
  const double fp32_limit = conformance::budget("oracle_max_abs", "fp32").limit;
  EXPECT_LT(stats(out.at("patch"), want.at("patch_f64")).max_abs, fp32_limit);
  EXPECT_LT(stats(out.at("cls"), want.at("cls_f64")).max_abs, fp32_limit);
  fs::remove(r.output);
}

TEST(Embed, Dinov3WritesRegistersAsFp32UnderBf16) {
  AMT_REQUIRE_ORACLE_FILE(weights, "dinov3_weights.safetensors");
  AMT_REQUIRE_ORACLE_FILE(input, "dinov3_rope_224x320.safetensors");
  EmbedRequest r;
  r.kind = BackboneKind::kDinov3;
  r.weights = weights;
  r.input = input;
  r.output = temp_path("v3.safetensors");
  r.interp = PosInterp::kMeta;  // ignored for DINOv3
  r.dtype = "bf16-autocast";
  run_embed(r);
  const io::Safetensors out = io::read_safetensors(r.output);
  const io::Safetensors want = io::read_safetensors(input);
  for (const char* name : {"cls", "patch", "registers"}) {
    ASSERT_TRUE(out.has(name)) << name;
    EXPECT_EQ(out.at(name).scalar_type(), torch::kFloat) << name;
    EXPECT_LE(stats(out.at(name), want.at(std::string(name) + "_f64")).rel_l2,
              conformance::budget("oracle_rel_l2").limit)
        << name;
  }
  fs::remove(r.output);
}

// Bad inputs: an amt::Error with a one-line message naming the offending file.
TEST(Embed, BadInputsNameTheFile) {
  AMT_REQUIRE_ORACLE_FILE(weights, "dinov2_weights.safetensors");
  const std::string input = temp_path("bad_input.safetensors");
  auto expect_error = [&](const std::map<std::string, torch::Tensor>& tensors, const std::string& part) {
    io::write_safetensors(input, tensors);
    EmbedRequest r;
    r.weights = weights;
    r.input = input;
    r.output = temp_path("never.safetensors");
    try {
      run_embed(r);
      ADD_FAILURE() << "no error for " << part;
    } catch (const Error& e) {
      const std::string msg = e.what();
      std::printf("    %s\n", msg.c_str());
      EXPECT_NE(msg.find(input), std::string::npos) << msg;
      EXPECT_NE(msg.find(part), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
    EXPECT_FALSE(fs::exists(r.output));
  };
  expect_error({{"pixels", torch::zeros({1, 3, 28, 28})}}, "pixel_values");
  expect_error({{"pixel_values", torch::zeros({1, 3, 30, 28})}}, "height 30");
  expect_error({{"pixel_values", torch::zeros({1, 3, 28, 20})}}, "width 20");
  expect_error({{"pixel_values", torch::zeros({1, 3, 28, 28}, torch::kLong)}}, "not a float dtype");
  expect_error({{"pixel_values", torch::zeros({3, 28, 28})}}, "[B,3,H,W]");
  expect_error({{"pixel_values", torch::full({1, 3, 28, 28}, NAN)}}, "pixel_values");

  // A missing weights file names the weights file.
  io::write_safetensors(input, {{"pixel_values", torch::zeros({1, 3, 28, 28})}});
  EmbedRequest r;
  r.weights = temp_path("no_such_weights.safetensors");
  r.input = input;
  r.output = temp_path("never.safetensors");
  try {
    run_embed(r);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(r.weights), std::string::npos) << e.what();
  }
  fs::remove(input);
}

}  // namespace
}  // namespace amt::model::testing
