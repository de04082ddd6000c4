// amt_ref_train end to end, through the real binary: the gate refuses a faulted build (distinct exit code,
// reason, no checkpoint); N steps + resume + M steps equals N + M steps bit for bit (FP32); SIGTERM saves a
// checkpoint, exits 143 with the resume command, and the resumed run completes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "reference/io/file_bytes.hpp"
#include "trainer/checkpoint.hpp"
#include "trainer/metrics_log.hpp"
#include "trainer/trainer.hpp"

namespace amt::trainer {
namespace {

namespace fs = std::filesystem;

std::string binary() {
  const char* b = std::getenv("AMT_REF_TRAIN_BIN");
  return b ? b : "";
}

// One folder for the whole executable, so the small synthetic dataset is generated once.
const fs::path& runs_dir() {
  static const fs::path d = [] {
    const fs::path p = fs::temp_directory_path() / ("amt-train-run-test-" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
  }();
  return d;
}

// A small, fast FP32 run: the first 48 of 320 synthetic training images (5 sequences per subject, so s0 has
// a validation split: 16 images), batch 4, every step logged.
std::vector<std::string> small_run_args(const fs::path& out) {
  return {"--runs-dir",   runs_dir().string(),
          "--out",        out.string(),
          "--policy",     "fp32",
          "--batch-size", "4",
          "--set",        "data.synth_sequences=5",
          "--set",        "data.synth_frames=1",
          "--set",        "data.max_train_samples=48",
          "--set",        "run.log_every=1",
          "--set",        "optim.warmup_steps=2",
          "--epochs",     "2",
          "--plain"};
}

struct RunOutput {
  int exit_code = -1;
  std::string out, err;
};

// Starts the binary with `args`; `during` (if given) runs while it is alive, with its pid.
RunOutput run(const std::vector<std::string>& args, const std::function<void(pid_t)>& during = {}) {
  const fs::path so = runs_dir() / ("stdout-" + std::to_string(std::rand()));
  const fs::path se = runs_dir() / ("stderr-" + std::to_string(std::rand()));
  std::fflush(stdout);  // the child would otherwise write the parent's buffered output again
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    std::string bin = binary();
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (!std::freopen(so.c_str(), "w", stdout) || !std::freopen(se.c_str(), "w", stderr)) _exit(127);
    ::execv(bin.c_str(), argv.data());
    _exit(127);
  }
  if (during) during(pid);
  int status = 0;
  ::waitpid(pid, &status, 0);
  RunOutput r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = io::read_file_bytes(so.string());
  r.err = io::read_file_bytes(se.string());
  return r;
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

std::vector<std::pair<int64_t, double>> losses(const fs::path& run_dir) {
  std::vector<std::pair<int64_t, double>> out;
  for (const auto& r : MetricsLog::read((run_dir / "train_log.jsonl").string()))
    out.emplace_back(r.step, r.values.at("loss"));
  return out;
}

class TrainRun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (binary().empty()) GTEST_SKIP() << "AMT_REF_TRAIN_BIN is not set (ctest sets it)";
  }
};

TEST_F(TrainRun, GateRefusesAFaultedBuildWithItsOwnExitCodeAndNoCheckpoint) {
  const fs::path out = runs_dir() / "gate-refused";
  const RunOutput r =
      run(with(small_run_args(out), {"--gate", "quick", "--inject-fault", "vision.resize_square"}));
  EXPECT_EQ(r.exit_code, kExitGateRefused) << r.err;
  EXPECT_NE(r.err.find("conformance gate refused"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("vision.resize_square"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out / "checkpoints"));
  EXPECT_FALSE(fs::exists(out / "train_log.jsonl"));
  ASSERT_TRUE(fs::exists(out / "conformance.json"));
  const std::string json = io::read_file_bytes((out / "conformance.json").string());
  EXPECT_NE(json.find("\"verdict\": \"failed\""), std::string::npos);
  EXPECT_NE(io::read_file_bytes((out / "report.md").string()).find("failed"), std::string::npos);
}

TEST_F(TrainRun, StopAndResumeEqualsAnUninterruptedRunBitForBit) {
  const fs::path whole = runs_dir() / "whole", split = runs_dir() / "split";
  const RunOutput a = run(with(small_run_args(whole), {"--gate", "skip", "--max-steps", "7"}));
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const RunOutput b1 = run(with(small_run_args(split), {"--gate", "skip", "--max-steps", "3"}));
  ASSERT_EQ(b1.exit_code, 0) << b1.err;
  const RunOutput b2 =
      run({"--resume", split.string(), "--runs-dir", runs_dir().string(), "--max-steps", "7", "--plain"});
  ASSERT_EQ(b2.exit_code, 0) << b2.err;
  const auto la = losses(whole), lb = losses(split);
  ASSERT_EQ(la.size(), 7u);
  EXPECT_EQ(la, lb);  // every step's loss, exactly (the logs hold 17 significant digits)
  const Checkpoint ca = load_checkpoint(whole.string()), cb = load_checkpoint(split.string());
  EXPECT_EQ(ca.state.step, 7);
  EXPECT_EQ(cb.state.step, 7);
  for (const auto& [k, v] : ca.model) EXPECT_TRUE(torch::equal(v, cb.model.at(k))) << k;
  for (const auto& [k, v] : ca.ema) EXPECT_TRUE(torch::equal(v, cb.ema.at(k))) << k;
  for (const auto& [k, v] : ca.optimizer) EXPECT_TRUE(torch::equal(v, cb.optimizer.at(k))) << k;
  // The skipped gate is recorded loudly.
  EXPECT_NE(io::read_file_bytes((whole / "report.md").string()).find("GATE WAS SKIPPED"), std::string::npos);
  // A resume may not change what is trained.
  const RunOutput bad =
      run({"--resume", split.string(), "--runs-dir", runs_dir().string(), "--lr", "0.5", "--plain"});
  EXPECT_EQ(bad.exit_code, kExitBadInput) << bad.err;
  EXPECT_NE(bad.err.find("optim.lr"), std::string::npos) << bad.err;
}

TEST_F(TrainRun, SigtermSavesACheckpointAndTheRunResumesToTheEnd) {
  const fs::path out = runs_dir() / "sigterm";
  const RunOutput r =
      run(with(small_run_args(out), {"--gate", "skip", "--max-steps", "400"}), [&](pid_t pid) {
        // Wait for a few logged steps, then ask it to stop.
        const fs::path log = out / "train_log.jsonl";
        for (int i = 0; i < 600; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          if (fs::exists(log) && MetricsLog::read(log.string()).size() >= 3) break;
        }
        ::kill(pid, SIGTERM);
      });
  ASSERT_EQ(r.exit_code, 128 + SIGTERM) << r.err;
  EXPECT_NE(r.out.find("--resume " + out.string()), std::string::npos) << r.out;
  const Checkpoint c = load_checkpoint(out.string());
  EXPECT_EQ(c.state.reason, "signal");
  EXPECT_GE(c.state.step, 3);
  EXPECT_LT(c.state.step, 400);
  const RunOutput resumed = run({"--resume", out.string(), "--runs-dir", runs_dir().string(), "--max-steps",
                                 std::to_string(c.state.step + 2), "--plain"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(load_checkpoint(out.string()).state.step, c.state.step + 2);
  // The log continues where the checkpoint was: no step twice, none missing.
  const auto l = losses(out);
  for (size_t i = 0; i < l.size(); ++i) EXPECT_EQ(l[i].first, static_cast<int64_t>(i + 1));
}

}  // namespace
}  // namespace amt::trainer
