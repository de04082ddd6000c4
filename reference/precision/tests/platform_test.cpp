// The one LibTorch: every LibTorch library this process maps comes from the pinned wheel the build found
// (cmake/TorchWheel.cmake), never from the system (Debian's libtorch-dev puts 1.13 in /usr/lib).
#include "reference/precision/platform.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <string>

#include "reference/precision/cpu_isa.hpp"

namespace amt::precision {
namespace {

TEST(Platform, EveryLibTorchLibraryComesFromTheWheel) {
  torch::ones({1}).add_(1);  // LibTorch is loaded and used
  std::ifstream maps("/proc/self/maps");
  int from_wheel = 0;
  for (std::string line; std::getline(maps, line);) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const auto name = path.substr(path.rfind('/') + 1);
    if (name.rfind("libtorch", 0) != 0 && name.rfind("libc10", 0) != 0) continue;
    EXPECT_EQ(path.rfind(AMT_TORCH_LIB_DIR, 0), 0u) << path << " is not from " << AMT_TORCH_LIB_DIR;
    ++from_wheel;
  }
  EXPECT_GE(from_wheel, 3) << "libtorch, libtorch_cpu and libc10";
}

TEST(Platform, DescribesLibTorchCudaAndCpu) {
  const Platform p = platform();
  EXPECT_EQ(p.libtorch, std::string(TORCH_VERSION).substr(0, p.libtorch.size()));
  EXPECT_EQ(p.cpu, cpu_summary());
  const std::string line = describe(p);
  EXPECT_NE(line.find("LibTorch " + p.libtorch), std::string::npos) << line;
#if AMT_WITH_CUDA
  EXPECT_FALSE(p.cuda.empty()) << "linked libtorch_cuda registered no CUDA backend: " << line;
  EXPECT_NE(line.find("with CUDA " + p.cuda), std::string::npos) << line;
#else
  EXPECT_TRUE(p.cuda.empty()) << line;
  EXPECT_NE(line.find("CPU only"), std::string::npos) << line;
#endif
}

}  // namespace
}  // namespace amt::precision
