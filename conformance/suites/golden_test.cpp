// FP32 vs the golden store (label `golden`): every manifest case re-run from its stored inputs and compared
// tensor by tensor with its stored tolerance, the file and weights hashes, and the 10-step trajectory. A
// changed output fails with the worst element named (compare_close's message).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include "conformance/lib/golden_store.hpp"
#include "conformance/testing/scratch_dir.hpp"
#include "reference/core/error.hpp"

#include "reference/io/safetensors.hpp"
#include "reference/io/sha256.hpp"

namespace amt::conformance {
namespace {

std::string golden_dir_or_skip() {
  try {
    return find_golden_dir();
  } catch (const amt::Error&) {
    return "";
  }
}

TEST(Golden, EveryCaseMatchesItsStoredOutputs) {
  const std::string dir = golden_dir_or_skip();
  ASSERT_FALSE(dir.empty()) << "no golden store (golden/manifest.json); run amt_golden generate";
  const nlohmann::json manifest = read_golden_manifest(dir);
  ASSERT_EQ(manifest.at("cases").size(), golden_specs().size()) << "the manifest lists other cases than "
                                                                   "golden_specs(): regenerate";
  for (const auto& e : manifest.at("cases")) {
    const std::string id = e.at("id").get<std::string>();
    const Outcome o = verify_golden_case(dir, manifest, id);
    for (const Check& c : o.checks) EXPECT_TRUE(c.ok()) << id << ": " << c.line();
  }
}

TEST(Golden, TrainingTrajectoryMatches) {
  const std::string dir = golden_dir_or_skip();
  ASSERT_FALSE(dir.empty()) << "no golden store (golden/manifest.json); run amt_golden generate";
  const Outcome o = verify_golden_trajectory(read_golden_manifest(dir));
  for (const Check& c : o.checks) EXPECT_TRUE(c.ok()) << c.line();
}

// The check can fail: a golden whose stored hand_joints differ by 0.5 mm from what the model computes (the
// file rewritten, its hash updated so only the values differ) fails on that tensor, naming the worst element.
TEST(Golden, AChangedOutputFailsNamingTheWorstElement) {
  const std::string dir = golden_dir_or_skip();
  ASSERT_FALSE(dir.empty()) << "no golden store";
  nlohmann::json manifest = read_golden_manifest(dir);
  nlohmann::json& entry = manifest.at("cases").at(0);
  const std::string id = entry.at("id").get<std::string>();
  const io::Safetensors file = io::read_safetensors(dir + "/" + entry.at("file").get<std::string>());
  std::map<std::string, torch::Tensor> tensors = file.tensors;
  tensors["outputs/hand_joints"] = tensors["outputs/hand_joints"].clone();
  tensors["outputs/hand_joints"][0][7][1] += 5e-4;
  const ScratchDir scratch;
  const std::string tmp = scratch.file("changed");
  std::filesystem::create_directories(tmp + "/cases");
  io::write_safetensors(tmp + "/" + entry.at("file").get<std::string>(), tensors, file.metadata);
  entry["sha256"] = io::sha256_file(tmp + "/" + entry.at("file").get<std::string>());
  const Outcome o = verify_golden_case(tmp, manifest, id);
  ASSERT_FALSE(o.ok());
  const Check* f = o.first_failure();
  EXPECT_EQ(f->name, "outputs/hand_joints") << f->line();
  EXPECT_NE(f->detail.find("(0, 7, 1)"), std::string::npos) << f->detail;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Generation is deterministic: two runs write byte-identical manifests and case files.
TEST(Golden, TwoGenerationsAreByteIdentical) {
  const ScratchDir scratch;
  const std::string a = scratch.file("a"), b = scratch.file("b");
  std::filesystem::remove_all(a);
  std::filesystem::remove_all(b);
  const nlohmann::json ma = generate_goldens(a), mb = generate_goldens(b);
  EXPECT_EQ(file_bytes(a + "/manifest.json"), file_bytes(b + "/manifest.json"));
  for (const auto& e : ma.at("cases")) {
    const std::string f = e.at("file").get<std::string>();
    EXPECT_EQ(file_bytes(a + "/" + f), file_bytes(b + "/" + f)) << f;
    EXPECT_EQ(io::sha256_file(a + "/" + f), e.at("sha256").get<std::string>()) << f;
  }
  uint64_t bytes = 0;
  for (const auto& e : ma.at("cases")) bytes += e.at("bytes").get<uint64_t>();
  EXPECT_LE(bytes, 30u << 20) << "the golden store must stay within 30 MB";
}

}  // namespace
}  // namespace amt::conformance
