// The harness as a user runs it: `amt_conformance --fuzz` with a fault injected fails, writes a replay file
// and names it; `amt_conformance --replay` on that file fails the same way; without the fault both pass.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>

#include "conformance/testing/scratch_dir.hpp"

namespace {

struct CliRun {
  int code = -1;
  std::string out;
};

CliRun run_cli(const std::string& args) {
  const char* bin = std::getenv("AMT_CONFORMANCE_BIN");
  if (!bin) return {-1, "AMT_CONFORMANCE_BIN is not set (ctest sets it)"};
  CliRun r;
  FILE* p = popen((std::string(bin) + " " + args + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf;
  while (fgets(buf.data(), buf.size(), p)) r.out += buf.data();
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(HarnessCli, CameraFaultIsCaughtWrittenToAReplayFileAndReplayed) {
  const amt::ScratchDir scratch;
  const std::string dir = scratch.str();
  const CliRun fuzz = run_cli(
      "--fuzz --cases 30 --filter '^dtype_mix.boundary$' --inject-fault boundary.camera_dtype "
      "--report-dir " +
      dir);
  ASSERT_EQ(fuzz.code, 1) << fuzz.out;
  EXPECT_NE(fuzz.out.find("fuzz: "), std::string::npos) << fuzz.out;
  EXPECT_NE(fuzz.out.find(" 1 failed in "), std::string::npos) << fuzz.out;
  EXPECT_NE(fuzz.out.find("K dtype after the boundary"), std::string::npos) << fuzz.out;
  EXPECT_NE(fuzz.out.find("reproduce: RC_PARAMS="), std::string::npos) << fuzz.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(fuzz.out, m, std::regex("replay file: (\\S+)"))) << fuzz.out;
  const std::string replay = m[1];
  ASSERT_TRUE(std::filesystem::exists(replay)) << replay;
  EXPECT_TRUE(std::filesystem::exists(dir + "/fuzz-report.json"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/fuzz-report.md"));

  const CliRun again = run_cli("--replay " + replay);
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_NE(again.out.find("reproduces the recorded failure"), std::string::npos) << again.out;
}

TEST(HarnessCli, WithoutTheFaultTheSameRunPasses) {
  const amt::ScratchDir scratch;
  const std::string dir = scratch.str();
  const CliRun fuzz = run_cli("--fuzz --cases 30 --filter '^dtype_mix.boundary$' --report-dir " + dir);
  EXPECT_EQ(fuzz.code, 0) << fuzz.out;
  EXPECT_NE(fuzz.out.find(" 0 failed in "), std::string::npos) << fuzz.out;
}

TEST(HarnessCli, BadOptionsAndFilesGetOneLineErrors) {
  const CliRun unknown = run_cli("--fuzz --cases 1 --inject-fault no.such.fault");
  EXPECT_EQ(unknown.code, 2) << unknown.out;
  EXPECT_NE(unknown.out.find("unknown fault switch 'no.such.fault'"), std::string::npos) << unknown.out;
  const CliRun filter = run_cli("--fuzz --cases 1 --filter nothing-matches-this");
  EXPECT_EQ(filter.code, 2) << filter.out;
  EXPECT_NE(filter.out.find("matches no property"), std::string::npos) << filter.out;
  const amt::ScratchDir scratch;
  const std::string bad = scratch.file("bad_replay.json");
  std::FILE* f = std::fopen(bad.c_str(), "w");
  std::fputs("{\"format\": \"amt-replay-1\", \"case\": {\"property\": 3}}", f);
  std::fclose(f);
  const CliRun replay = run_cli("--replay " + bad);
  EXPECT_EQ(replay.code, 2) << replay.out;
  EXPECT_NE(replay.out.find(bad), std::string::npos) << replay.out;
  EXPECT_NE(replay.out.find("[property]"), std::string::npos) << replay.out;
  EXPECT_EQ(std::count(replay.out.begin(), replay.out.end(), '\n'), 1) << replay.out;
}

// A filter that is not a regular expression is bad input (exit 2, one line naming the option), in the
// mutation-score mode as in --fuzz: both go through the library's own check (run_fault_catalogue,
// run_fuzz), not a second copy of it.
TEST(HarnessCli, ABadFilterRegexIsAOneLineErrorExitTwo) {
  const amt::ScratchDir scratch;
  const std::string dir = scratch.str();
  for (const std::string mode : {"--faults", "--fuzz --cases 1"}) {
    const CliRun r = run_cli(mode + " --filter '(' --report-dir " + dir);
    EXPECT_EQ(r.code, 2) << mode << ": " << r.out;
    EXPECT_NE(r.out.find("amt_conformance: --filter '(' is not a valid regular expression"),
              std::string::npos)
        << r.out;
  }
}

TEST(HarnessCli, AReportDirThatIsAFileIsAOneLineError) {
  const amt::ScratchDir scratch;
  const std::string file = scratch.file("report_dir_is_a_file");
  std::FILE* f = std::fopen(file.c_str(), "w");
  std::fclose(f);
  const CliRun r = run_cli("--fuzz --cases 1 --filter '^rect_grids.shuffle$' --report-dir " + file);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find(file + ": --report-dir"), std::string::npos) << r.out;
}

// `probe --inject-fault` ledgers the fault-free run too and ranks the modules by how much more error they
// add: the faulted module heads the list. The JSON it writes is a baseline for a later `--baseline` run.
TEST(HarnessCli, ProbeWithAFaultPointsAtTheFaultedModule) {
  const amt::ScratchDir scratch;
  const std::string dir = scratch.str();
  const CliRun faulted = run_cli(
      "probe --config tiny --policy bf16-pure --inject-fault island.grid_sample_feature_dtype --json " + dir +
      "/faulted.json");
  ASSERT_EQ(faulted.code, 0) << faulted.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      faulted.out, m,
      std::regex("added error vs the fault-free run, innermost changed modules first \\(\\*\\):\n.*\n"
                 " +1 \\* +[0-9.]+x +\\S+ +\\S+ +(\\S+)\n")))
      << faulted.out;
  EXPECT_EQ(m[1], "refinement") << faulted.out;
  EXPECT_TRUE(std::filesystem::exists(dir + "/faulted.json"));

  // A stored ledger as the baseline (here the faulted one, against a fault-free run): the table names the
  // file; a file without a ledger of the probed plan is a one-line error naming the file and the field.
  const CliRun clean = run_cli("probe --config tiny --policy bf16-pure --baseline " + dir + "/faulted.json");
  ASSERT_EQ(clean.code, 0) << clean.out;
  EXPECT_NE(clean.out.find("added error vs " + dir + "/faulted.json"), std::string::npos) << clean.out;
  const CliRun other = run_cli("probe --config tiny --policy fp32 --baseline " + dir + "/faulted.json");
  EXPECT_EQ(other.code, 2) << other.out;
  EXPECT_NE(other.out.find(dir + "/faulted.json [plan]: no ledger of plan 'fp32'"), std::string::npos)
      << other.out;
  EXPECT_EQ(std::count(other.out.begin(), other.out.end(), '\n'), 1) << other.out;
}

TEST(HarnessCli, ListNamesEveryPropertyWithItsBudgets) {
  const CliRun list = run_cli("--list");
  EXPECT_EQ(list.code, 0) << list.out;
  for (const char* p : {"dtype_mix.forward", "rect_grids.shuffle", "dummy.zero_loss_zero_grad",
                        "batch_invariance.buckets", "golden.fp32"}) {
    EXPECT_NE(list.out.find(p), std::string::npos) << p;
  }
  EXPECT_NE(list.out.find("budget joints_mm@bf16-pure"), std::string::npos) << list.out;
}

}  // namespace
