// Every CLI's error contract (program/: exit_codes.hpp, run_reporting_errors.hpp): one line naming the input
// on stderr and a documented exit code (0 ok, 1 a check failed, 2 bad input or command line, 3
// LibTorch/OpenCV/memory), the whole message with --verbose; and the example through the real
// amt_conformance binary.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <opencv2/imgcodecs.hpp>
#include <string>

#include "conformance/testing/scratch_dir.hpp"
#include "program/command_line.hpp"
#include "program/exit_codes.hpp"
#include "program/run_reporting_errors.hpp"
#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"
#include "reference/precision/cpu_isa.hpp"
#include "reference/precision/platform.hpp"

namespace amt::program {
namespace {

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}
size_t lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

struct Reported {
  int code;
  std::string err;
};

Reported report(const std::function<int()>& body, bool verbose = false) {
  verbose_errors() = verbose;
  testing::internal::CaptureStderr();
  const int code = run_reporting_errors("tool", body);
  Reported r{code, testing::internal::GetCapturedStderr()};
  verbose_errors() = false;
  return r;
}

TEST(CliErrors, EachKindOfErrorGetsItsCodeAndOneLine) {
  const Reported ok = report([] { return 0; });
  EXPECT_EQ(ok.code, kExitOk);
  EXPECT_EQ(ok.err, "");

  const Reported bad = report([]() -> int { throw FormatError("a.npy", "shape", "bad\nsecond line"); });
  EXPECT_EQ(bad.code, kExitBadInput);
  EXPECT_EQ(bad.err, "tool: a.npy [shape]: bad\n");

  const Reported limit = report([]() -> int { throw LimitError("x.jpg: too big"); });
  EXPECT_EQ(limit.code, kExitBadInput);

  const Reported torch_error = report([]() -> int {
    (void)torch::zeros({2, 3}).matmul(torch::zeros({4, 5}));
    return 0;
  });
  EXPECT_EQ(torch_error.code, kExitInternal);
  EXPECT_TRUE(has(torch_error.err, "tool: LibTorch error: ")) << torch_error.err;
  EXPECT_EQ(lines(torch_error.err), 1u) << torch_error.err;

  const Reported cv_error = report([]() -> int {
    cv::Mat m;
    (void)cv::imwrite("/nonexistent-dir/x.unknown-extension", m);
    return 0;
  });
  EXPECT_EQ(cv_error.code, kExitInternal);
  EXPECT_TRUE(has(cv_error.err, "tool: OpenCV error: ")) << cv_error.err;
  EXPECT_EQ(lines(cv_error.err), 1u) << cv_error.err;

  const Reported oom = report([]() -> int { throw std::bad_alloc(); });
  EXPECT_EQ(oom.code, kExitInternal);
  EXPECT_EQ(oom.err, "tool: out of memory\n");

  const Reported other = report([]() -> int { return YAML::Load("[1, 2]").as<int>(); });
  EXPECT_EQ(other.code, kExitInternal);
  EXPECT_TRUE(has(other.err, "tool: unexpected error: ")) << other.err;
  EXPECT_EQ(lines(other.err), 1u) << other.err;

  const Reported thrown_int = report([]() -> int { throw 7; });
  EXPECT_EQ(thrown_int.code, kExitInternal);
}

TEST(CliErrors, VerbosePrintsTheWholeMessageWithLibTorchsBacktrace) {
  const auto body = []() -> int {
    (void)torch::zeros({2, 3}).matmul(torch::zeros({4, 5}));
    return 0;
  };
  const Reported quiet = report(body, false);
  const Reported loud = report(body, true);
  EXPECT_EQ(lines(quiet.err), 1u);
  EXPECT_GT(lines(loud.err), 1u) << loud.err;
  EXPECT_TRUE(has(loud.err, "Exception raised from")) << loud.err;
  const Reported multi =
      report([]() -> int { throw CheckpointError("w.safetensors: 2 problems\nmissing: a"); }, true);
  EXPECT_TRUE(has(multi.err, "missing: a")) << multi.err;
}

TEST(CliErrors, ABadCommandLineIsExitTwoWithOneLineAndHelpIsZero) {
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"t", "--bogus"}, {"t"}, {"t", "--n", "x"}, {"t", "--n", "1", "extra"}}) {
    CLI::App app{"t"};
    int n = 0;
    app.add_option("--n", n)->required();
    std::vector<const char*> raw;
    for (const auto& a : argv) raw.push_back(a.c_str());
    testing::internal::CaptureStderr();
    const int code = parse_command_line(app, static_cast<int>(raw.size()), raw.data(), "t");
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(code, kExitBadInput) << argv.size();
    EXPECT_EQ(lines(err), 1u) << err;
    EXPECT_TRUE(has(err, "t: ") && has(err, "(see --help)")) << err;
  }
  CLI::App app{"t"};
  const char* help[] = {"t", "--help"};
  testing::internal::CaptureStdout();
  EXPECT_EQ(parse_command_line(app, 2, help, "t"), kExitOk);
  EXPECT_TRUE(has(testing::internal::GetCapturedStdout(), "--help"));
  CLI::App fine{"t"};
  const char* none[] = {"t"};
  EXPECT_EQ(parse_command_line(fine, 1, none, "t"), -1);
}

// --- the real binary -------------------------------------------------------------------------------------

struct BinaryRun {
  int code = -1;
  std::string out;
};

BinaryRun run_conformance(const std::string& args, const std::string& env = "") {
  const char* bin = std::getenv("AMT_CONFORMANCE_BIN");
  if (!bin) return {-1, "AMT_CONFORMANCE_BIN is not set (ctest sets it)"};
  BinaryRun r;
  FILE* p = popen((env + " " + bin + " " + args + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf;
  while (fgets(buf.data(), buf.size(), p)) r.out += buf.data();
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string small_jpeg(const ScratchDir& scratch) {
  const std::string path = scratch.file("small.jpg");
  cv::imwrite(path, cv::Mat(24, 32, CV_8UC3, cv::Scalar(20, 40, 60)));
  return path;
}

// The example asked OpenCV for a 30 GB image and came back as "unexpected error", exit 3.
TEST(CliErrors, ResizeWithAHugeMaxSideIsAOneLineLimitErrorExitTwo) {
  const ScratchDir scratch;
  const std::string out = scratch.file("resize.safetensors");
  const std::string args = "resize --image " + small_jpeg(scratch) +
                           " --fx 500 --fy 500 --cx 16 --cy 12 --patch 100000 --max-side 100000 --out " + out;
  const BinaryRun r = run_conformance(args);
  EXPECT_EQ(r.code, kExitBadInput) << r.out;
  EXPECT_EQ(r.out,
            "amt_conformance resize: dynamic resize: max_side 100000 exceeds the image-side ceiling 8192 "
            "(AMT_MAX_IMAGE_SIDE)\n");
  // Lifting the side ceiling meets the tensor-bytes one: still refused before any allocation.
  const BinaryRun lifted = run_conformance(args, "AMT_MAX_IMAGE_SIDE=100000");
  EXPECT_EQ(lifted.code, kExitBadInput) << lifted.out;
  EXPECT_TRUE(has(lifted.out, "120000000000 bytes exceed the tensor-bytes ceiling")) << lifted.out;
  EXPECT_EQ(lines(lifted.out), 1u) << lifted.out;
  const BinaryRun bad_env = run_conformance(args, "AMT_MAX_IMAGE_SIDE=huge");
  EXPECT_EQ(bad_env.code, kExitBadInput) << bad_env.out;
  EXPECT_TRUE(has(bad_env.out, "AMT_MAX_IMAGE_SIDE='huge'")) << bad_env.out;
  const BinaryRun fine =
      run_conformance("resize --image " + small_jpeg(scratch) +
                      " --fx 500 --fy 500 --cx 16 --cy 12 --patch 14 --max-side 224 --out " + out);
  EXPECT_EQ(fine.code, kExitOk) << fine.out;
}

TEST(CliErrors, TheBinarysBadCommandLinesAndVerboseFlag) {
  const BinaryRun missing = run_conformance("resize --image x.jpg");
  EXPECT_EQ(missing.code, kExitBadInput) << missing.out;
  EXPECT_EQ(lines(missing.out), 1u) << missing.out;
  const BinaryRun unknown = run_conformance("--no-such-flag");
  EXPECT_EQ(unknown.code, kExitBadInput) << unknown.out;
  EXPECT_EQ(lines(unknown.out), 1u) << unknown.out;
  // --verbose is accepted before and after the subcommand.
  for (const char* where :
       {"--verbose inspect /nonexistent.safetensors", "inspect /nonexistent.safetensors --verbose"}) {
    const BinaryRun r = run_conformance(where);
    EXPECT_EQ(r.code, kExitBadInput) << r.out;
    EXPECT_TRUE(has(r.out, "/nonexistent.safetensors")) << r.out;
  }
}

// --version: the LibTorch it links, whether that LibTorch has CUDA and sees a device, the CPU and its ISA.
TEST(CliErrors, VersionNamesLibTorchCudaAndTheCpu) {
  const BinaryRun r = run_conformance("--version");
  EXPECT_EQ(r.code, kExitOk) << r.out;
  EXPECT_EQ(lines(r.out), 1u) << r.out;
  const precision::Platform p = precision::platform();
  EXPECT_TRUE(has(r.out, "amt_conformance (AMT-Ref): LibTorch " + std::string(TORCH_VERSION))) << r.out;
  EXPECT_TRUE(has(r.out, "CPU " + precision::cpu_summary())) << r.out;
#if AMT_WITH_CUDA
  EXPECT_FALSE(p.cuda.empty()) << "a CUDA build whose LibTorch registered no CUDA backend";
  EXPECT_TRUE(has(r.out, "with CUDA " + p.cuda)) << r.out;
#else
  EXPECT_TRUE(has(r.out, "(CPU only)")) << r.out;
#endif
  EXPECT_TRUE(has(r.out, p.cuda_devices == 0 && !p.cuda.empty() ? "no CUDA device visible" : "")) << r.out;
}

// oneDNN capped at AVX2 (what a CPU without AVX512 dispatches): LibTorch 1.13 failed every bf16 matmul there
// and the policy was refused; 2.13 runs bf16 on AVX2, and the tool says which ISA it ran on. A cap value
// oneDNN does not know caps nothing, and --version says so.
TEST(CliErrors, Bf16RunsWithOnednnCappedAtAvx2AndTheIsaIsNamed) {
  const BinaryRun v = run_conformance("--version", "ONEDNN_MAX_CPU_ISA=AVX2");
  EXPECT_EQ(v.code, kExitOk) << v.out;
  EXPECT_TRUE(has(v.out, "; avx2")) << v.out;
  if (precision::cpu_info().hardware > precision::CpuIsa::kAvx2) {
    EXPECT_TRUE(has(v.out, "(ONEDNN_MAX_CPU_ISA=AVX2; the CPU has")) << v.out;
  }
  const BinaryRun r = run_conformance("--fuzz --cases 8 --filter '^dtype_mix.forward$' --policy bf16-pure",
                                      "ONEDNN_MAX_CPU_ISA=AVX2");
  EXPECT_EQ(r.code, kExitOk) << r.out;
  const BinaryRun bad = run_conformance("--version", "DNNL_MAX_CPU_ISA=AVX9000");
  EXPECT_EQ(bad.code, kExitOk) << bad.out;
  EXPECT_TRUE(has(bad.out, "DNNL_MAX_CPU_ISA=AVX9000 is not a oneDNN ISA name, no cap")) << bad.out;
}

}  // namespace
}  // namespace amt::program
