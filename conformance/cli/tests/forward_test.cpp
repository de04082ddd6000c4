// `amt_conformance forward` (run_forward): batch file in, every output in its P5 dtype out; bad input is a
// one-line amt::Error naming the file.
#include <gtest/gtest.h>

#include <filesystem>

#include "conformance/cli/forward.hpp"
#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/model/tests/amt_test_util.hpp"

namespace amt::model::testing {
using cli::ForwardRequest;
using cli::run_forward;
namespace {

namespace fs = std::filesystem;

class AmtForwardCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("amt_forward_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  ForwardRequest request(const std::string& input, const std::string& policy, const std::string& out) {
    ForwardRequest r;
    r.config = ::amt::testing::source_dir() + "/configs/tiny.yaml";
    r.seed = 3;
    r.input = input;
    r.policy = policy;
    r.output = out;
    return r;
  }
  fs::path dir_;
};

TEST_F(AmtForwardCli, WritesEveryOutputInItsPromisedDtype) {
  const std::string in = path("batch.safetensors");
  io::write_safetensors(in, {{"image", random_image(2, 28, 42, torch::kByte, 1)},
                             {"K", camera_k(2, 28, 42, torch::kHalf)},
                             {"E", camera_e(2, torch::kDouble)}});
  std::map<std::string, io::Safetensors> results;
  for (const std::string policy : {"fp32", "bf16-autocast", "bf16-pure", "fp64"}) {
    const auto s = run_forward(request(in, policy, path(policy + ".safetensors")));
    EXPECT_EQ(s.batch, 2);
    EXPECT_EQ(s.grid_h, 2);
    EXPECT_EQ(s.grid_w, 3);
    const io::Safetensors out = io::read_safetensors(path(policy + ".safetensors"));
    const PrecisionPolicy p = PrecisionPolicy::parse(policy);
    ASSERT_TRUE(out.has("hand_joints"));
    for (const auto& name : out.names) {
      const auto want = is_feature_output(name) ? p.compute_dtype() : p.output_dtype();
      EXPECT_EQ(out.at(name).scalar_type(), want) << name << " " << policy;
    }
    EXPECT_EQ(out.metadata.at("policy"), policy);
    results.emplace(policy, out);
  }
  // The same seed gives the same weights under every policy: fp32 and fp64 agree closely.
  EXPECT_TRUE(torch::allclose(results.at("fp32").at("hand_joints").to(torch::kDouble),
                              results.at("fp64").at("hand_joints"), 0, 1e-5));
}

TEST_F(AmtForwardCli, WeightsFileReproducesTheSeededModel) {
  const std::string in = path("batch.safetensors");
  io::write_safetensors(in,
                        {{"image", random_image(1, 28, 28, torch::kFloat, 2)}, {"K", camera_k(1, 28, 28)}});
  AmtModel model(tiny_config(), 3);
  std::map<std::string, torch::Tensor> params;
  for (const auto& kv : model->named_parameters()) params[kv.key()] = kv.value();
  io::write_safetensors(path("w.safetensors"), params);
  run_forward(request(in, "fp32", path("seed.safetensors")));
  ForwardRequest r = request(in, "fp32", path("weights.safetensors"));
  r.weights = path("w.safetensors");
  r.seed = 99;  // ignored when weights are given
  run_forward(r);
  const auto a = io::read_safetensors(path("seed.safetensors")),
             b = io::read_safetensors(path("weights.safetensors"));
  for (const auto& name : a.names) EXPECT_TRUE(torch::equal(a.at(name), b.at(name))) << name;
}

TEST_F(AmtForwardCli, BadInputIsATypedErrorNamingTheFile) {
  const std::string in = path("bad.safetensors");
  auto expect_error = [&](const std::map<std::string, torch::Tensor>& tensors, const std::string& needle) {
    io::write_safetensors(in, tensors);
    try {
      run_forward(request(in, "fp32", path("out.safetensors")));
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(needle), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  };
  const torch::Tensor img = random_image(1, 28, 28, torch::kFloat, 3);
  expect_error({{"image", img}}, "[K]");                                                  // K missing
  expect_error({{"K", camera_k(1, 28, 28)}}, "[image]");                                  // image missing
  expect_error({{"image", img}, {"K", camera_k(2, 28, 28)}}, "[K]");                      // batch mismatch
  expect_error({{"image", img.narrow(1, 0, 2)}, {"K", camera_k(1, 28, 28)}}, "[image]");  // 2 channels
  expect_error({{"image", random_image(1, 30, 28, torch::kFloat, 3)}, {"K", camera_k(1, 30, 28)}},
               "bad.safetensors");
  expect_error({{"image", img}, {"K", camera_k(1, 28, 28) * 0}}, "bad.safetensors");  // degenerate camera
  expect_error({{"image", img}, {"K", camera_k(1, 28, 28)}, {"junk", img}}, "[junk]");
  expect_error({{"image", img.to(torch::kInt)}, {"K", camera_k(1, 28, 28)}}, "bad.safetensors");
  ForwardRequest r = request(path("missing.safetensors"), "fp32", path("o.safetensors"));
  EXPECT_THROW(run_forward(r), IoError);
  r = request(in, "fp32", path("o.safetensors"));
  r.config = "no-such-config";
  EXPECT_THROW(run_forward(r), ConfigError);
}

}  // namespace
}  // namespace amt::model::testing
