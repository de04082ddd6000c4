// configure_runtime(): after it, a large tensor comes from the heap (no mmap'd block whose pages fault in
// again on every allocation), freeing it does not give the memory back to the kernel, and one thread pool
// (OpenMP's, all cores) does the work.
#include <gtest/gtest.h>
#include <malloc.h>
#include <torch/torch.h>

#include <cstdlib>
#include <cstring>

#include "reference/core/runtime.hpp"

namespace amt {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;  // gcc
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;  // clang
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

TEST(Runtime, LargeTensorsComeFromTheHeapAndStayForReuse) {
  // ASan replaces glibc's malloc: mallopt and mallinfo2 do not reach the allocator that serves the tensors.
  if (kAddressSanitizer) GTEST_SKIP() << "AddressSanitizer's allocator, not glibc's: nothing to tune";
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr)
    GTEST_SKIP() << "GLIBC_TUNABLES sets malloc options: configure_runtime leaves the allocator alone";
  const RuntimeSettings settings = configure_runtime();
  ASSERT_TRUE(settings.allocator_tuned) << describe(settings);
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

// One pool: every core (this process's share) to OpenMP, which runs MKL's fp32 and oneDNN's bf16 GEMMs.
TEST(Runtime, EveryCoreGoesToTheOneOpenMpPool) {
  const RuntimeSettings settings = configure_runtime();
  if (!settings.threads_managed) GTEST_SKIP() << describe(settings);
  EXPECT_EQ(at::get_num_threads(), settings.cores) << describe(settings);
  EXPECT_NE(describe(settings).find(std::to_string(settings.cores) + " OpenMP threads"), std::string::npos);
}

}  // namespace
}  // namespace amt
