// configure_runtime(): after it, a large tensor comes from the heap (no mmap'd block whose pages fault in
// again on every allocation), freeing it does not give the memory back to the kernel, and one thread pool
// (OpenMP's, all cores) does the work.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <torch/torch.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "reference/core/runtime.hpp"

namespace amt {
namespace {

TEST(Runtime, LargeTensorsComeFromTheHeapAndStayForReuse) {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr)
    GTEST_SKIP() << "GLIBC_TUNABLES sets malloc options: configure_runtime leaves the allocator alone";
  const RuntimeSettings settings = configure_runtime();
  ASSERT_TRUE(settings.allocator_tuned) << describe(settings);
  EXPECT_EQ(settings.intra_op_threads, at::get_num_threads());
  if (std::getenv("OMP_NUM_THREADS") == nullptr && std::getenv("LOCAL_WORLD_SIZE") == nullptr) {
    EXPECT_EQ(settings.intra_op_threads, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  }
  // OpenBLAS (when libblas.so.3 is OpenBLAS) runs in the calling thread: one pool, OpenMP's.
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr && dlsym(RTLD_DEFAULT, "openblas_get_num_threads")) {
    EXPECT_EQ(settings.blas_threads, 1);
  }
  const size_t mapped_before = mallinfo2().hblkhd;  // bytes in mmap'd blocks
  size_t heap_with_tensor = 0;
  {
    const torch::Tensor big = torch::empty({64 << 20}, torch::kByte);  // 64 MiB: above any mmap threshold
    EXPECT_EQ(mallinfo2().hblkhd, mapped_before) << "the 64 MiB tensor was mmap'd";
    heap_with_tensor = mallinfo2().arena;
  }
  EXPECT_GE(mallinfo2().arena, heap_with_tensor) << "freeing the tensor trimmed the heap";
  EXPECT_GE(heap_with_tensor, size_t{64} << 20);
  EXPECT_NE(describe(settings).find("kept for reuse"), std::string::npos) << describe(settings);
}

}  // namespace
}  // namespace amt
