#include "reference/core/runtime.hpp"

#include <ATen/Parallel.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace amt {

namespace {
bool user_set_malloc_tunables() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr;
}

bool keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  // M_MMAP_MAX 0: every block comes from the heap, so a freed activation is reused by the next one of its
  // size class instead of being unmapped; M_TRIM_THRESHOLD: never give the heap top back (the next forward
  // needs it again within milliseconds).
  const bool no_mmap = mallopt(M_MMAP_MAX, 0) == 1;
  const bool no_trim = mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
  return no_mmap && no_trim;
#else
  return false;
#endif
}
}  // namespace

RuntimeSettings configure_runtime() {
  static const RuntimeSettings settings = [] {
    RuntimeSettings s;
    s.allocator_tuned = !user_set_malloc_tunables() && keep_freed_memory_for_reuse();
    s.intra_op_threads = at::get_num_threads();
    return s;
  }();
  return settings;
}

std::string describe(const RuntimeSettings& s) {
  return std::string("allocator: ") +
         (s.allocator_tuned ? "freed tensors kept for reuse" : "glibc defaults") +
         "; intra-op threads: " + std::to_string(s.intra_op_threads);
}

}  // namespace amt
