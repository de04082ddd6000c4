#include "reference/core/runtime.hpp"

#include <ATen/Parallel.h>
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

bool g_configured = false;
RuntimeSettings g_settings;
}  // namespace

RuntimeSettings configure_runtime() {
  if (g_configured) return g_settings;
  g_configured = true;
  g_settings.allocator_tuned = !user_set_malloc_tunables() && keep_freed_memory_for_reuse();
  g_settings.cores = cores_for_this_process();
  g_settings.threads_managed = !user_set("OMP_NUM_THREADS");
  if (g_settings.threads_managed) at::set_num_threads(g_settings.cores);
  return g_settings;
}

std::string describe(const RuntimeSettings& s) {
  return std::string("allocator: ") +
         (s.allocator_tuned ? "freed tensors kept for reuse" : "glibc defaults") + "; threads: " +
         (s.threads_managed
              ? std::to_string(s.cores) + " OpenMP threads (MKL fp32 and oneDNN bf16 GEMMs alike)"
              : "OMP_NUM_THREADS=" + std::to_string(at::get_num_threads()));
}

}  // namespace amt
