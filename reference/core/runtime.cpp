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
struct OpenBlas {
  void (*set)(int) = nullptr;
  int (*get)() = nullptr;
};
const OpenBlas& openblas() {
  static const OpenBlas o = [] {
    OpenBlas b;
    b.set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    b.get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    if (b.set == nullptr || b.get == nullptr) b = OpenBlas{};
    return b;
  }();
  return o;
}

bool g_configured = false;
RuntimeSettings g_settings;

void apply_split(int openmp, int blas) {
  at::set_num_threads(openmp);
  openblas().set(blas);
}
}  // namespace

RuntimeSettings configure_runtime() {
  if (g_configured) return g_settings;
  g_configured = true;
  g_settings.allocator_tuned = !user_set_malloc_tunables() && keep_freed_memory_for_reuse();
  g_settings.cores = cores_for_this_process();
  g_settings.threads_managed =
      openblas().set != nullptr && !user_set("OMP_NUM_THREADS") && !user_set("OPENBLAS_NUM_THREADS");
  if (g_settings.threads_managed) apply_split(1, g_settings.cores);  // the fp32 split until a scope says else
  return g_settings;
}

std::string describe(const RuntimeSettings& s) {
  return std::string("allocator: ") +
         (s.allocator_tuned ? "freed tensors kept for reuse" : "glibc defaults") + "; threads: " +
         (s.threads_managed ? std::to_string(s.cores) + " cores to OpenBLAS (fp32) or OpenMP (bf16)"
                            : "as LibTorch and the environment set them");
}

ThreadSplit current_thread_split() {
  return {at::get_num_threads(), openblas().get ? openblas().get() : 0};
}

GemmThreadsScope::GemmThreadsScope(bool reduced_precision_gemms) {
  if (!g_configured || !g_settings.threads_managed) return;
  const ThreadSplit now = current_thread_split();
  const int cores = g_settings.cores;
  const int openmp = reduced_precision_gemms ? cores : 1, blas = reduced_precision_gemms ? 1 : cores;
  if (openmp == now.openmp && blas == now.blas) return;
  previous_openmp_ = now.openmp;
  previous_blas_ = now.blas;
  changed_ = true;
  apply_split(openmp, blas);
}

GemmThreadsScope::~GemmThreadsScope() {
  if (changed_) apply_split(previous_openmp_, previous_blas_);
}

}  // namespace amt
