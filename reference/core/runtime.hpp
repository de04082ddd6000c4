// Process-wide runtime settings every AMT-Ref executable applies once at start-up (docs/performance.md).
//
//   allocator  glibc returns every freed block above its mmap threshold (128 KiB to 32 MiB, adaptive) to the
//              kernel, so each new activation tensor of a forward pass is a fresh mmap whose pages fault in
//              and are zeroed again: a third of an S/14 forward at 448×336 on this machine. We keep freed
//              memory in the heap for reuse instead (no mmap for tensors, no trimming of the heap top); the
//              resident size no longer shrinks after a peak.
//   threads    Two pools share the cores: OpenBLAS's own pthreads (fp32/fp64 GEMMs) and LibTorch's
//              OpenMP pool (element-wise ops and oneDNN's bf16 GEMMs). Each spins between calls, so
//              giving both the cores made them fight (fp32 forward 1.5× slower). Which one should have
//              the cores depends on the dtype the GEMMs run in, so GemmThreadsScope switches per
//              computation: fp32 → OpenBLAS all cores, OpenMP 1 (LibTorch's own default here); bf16 →
//              OpenMP all cores, OpenBLAS in the caller. bf16 forward 1.9–2.3× faster than with one
//              OpenMP thread, fp32 as fast as before (docs/performance.md). "All cores" is divided by
//              LOCAL_WORLD_SIZE when several ranks share a host (amt_ref_train --nproc sets it).
//
// What the user set wins: GLIBC_TUNABLES with malloc settings leaves the allocator alone, OMP_NUM_THREADS the
// intra-op threads, OPENBLAS_NUM_THREADS OpenBLAS.
#pragma once
#include <string>

namespace amt {

struct RuntimeSettings {
  bool allocator_tuned = false;  // false: left to glibc defaults or to the user's GLIBC_TUNABLES
  int cores = 1;                 // cores this process may use (hardware threads / LOCAL_WORLD_SIZE)
  bool threads_managed = false;  // false: OpenBLAS absent, or OMP_NUM_THREADS / OPENBLAS_NUM_THREADS set
};

// Idempotent; call at the start of main(), before the first tensor.
RuntimeSettings configure_runtime();

// One line for logs and reports, e.g. "allocator: freed tensors kept for reuse; threads: 2 cores, ...".
std::string describe(const RuntimeSettings& settings);

// Gives the cores to the pool that runs this computation's GEMMs (bf16/fp16 GEMMs: oneDNN on OpenMP;
// otherwise OpenBLAS) for its lifetime, then restores the previous split; a scope nested in one of the same
// kind (the backbone's forward inside the model's, inside a training step) changes nothing. Does nothing
// before configure_runtime() or when the user set the thread counts. Opened by the model's forward, the
// backbone's forward and a whole training step (the backward runs outside the forward).
class GemmThreadsScope {
 public:
  explicit GemmThreadsScope(bool reduced_precision_gemms);
  ~GemmThreadsScope();
  GemmThreadsScope(const GemmThreadsScope&) = delete;
  GemmThreadsScope& operator=(const GemmThreadsScope&) = delete;

 private:
  bool changed_ = false;  // this scope switched the split and restores it
  int previous_openmp_ = 1, previous_blas_ = 1;
};

// The split now in force: {OpenMP threads, OpenBLAS threads (0 without OpenBLAS)}.
struct ThreadSplit {
  int openmp = 1, blas = 0;
};
ThreadSplit current_thread_split();

}  // namespace amt
