#include "reference/core/runtime.hpp"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace amt {

namespace {
bool user_set(const char* variable) {
  const char* v = std::getenv(variable);
  return v != nullptr && *v != '\0';
}

bool user_set_malloc_tunables() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr;
}

bool keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  // M_MMAP_MAX 0: every block comes from the heap, so a freed activation is reused by the next one of its
  // size instead of being unmapped; M_TRIM_THRESHOLD: never give the heap top back (the next forward needs
  // it again within milliseconds).
  const bool no_mmap = mallopt(M_MMAP_MAX, 0) == 1;
  const bool no_trim = mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
  return no_mmap && no_trim;
#else
  return false;
#endif
}

int cores_for_this_process() {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int local_ranks = 1;
  if (const char* v = std::getenv("LOCAL_WORLD_SIZE")) local_ranks = std::max(1, std::atoi(v));
  return std::max(1, cores / local_ranks);
}

// OpenBLAS is whatever libblas.so.3 resolves to (Debian's alternatives), so it is looked up, not linked.
int set_openblas_threads(int threads) {
  using SetFn = void (*)(int);
  using GetFn = int (*)();
  const auto set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  const auto get = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (set == nullptr || get == nullptr) return 0;
  set(threads);
  return get();
}
}  // namespace

RuntimeSettings configure_runtime() {
  static const RuntimeSettings settings = [] {
    RuntimeSettings s;
    s.allocator_tuned = !user_set_malloc_tunables() && keep_freed_memory_for_reuse();
    if (!user_set("OMP_NUM_THREADS")) at::set_num_threads(cores_for_this_process());
    s.intra_op_threads = at::get_num_threads();
    if (!user_set("OPENBLAS_NUM_THREADS")) s.blas_threads = set_openblas_threads(1);
    return s;
  }();
  return settings;
}

std::string describe(const RuntimeSettings& s) {
  return std::string("allocator: ") +
         (s.allocator_tuned ? "freed tensors kept for reuse" : "glibc defaults") +
         "; intra-op threads: " + std::to_string(s.intra_op_threads) +
         "; OpenBLAS threads: " + (s.blas_threads > 0 ? std::to_string(s.blas_threads) : "as set");
}

}  // namespace amt
