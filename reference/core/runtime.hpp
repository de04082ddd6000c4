// Process-wide runtime settings every AMT-Ref executable applies once at start-up (docs/performance.md).
//
//   allocator  glibc returns every freed block above its mmap threshold (128 KiB to 32 MiB, adaptive) to the
//              kernel, so each new activation tensor of a forward pass is a fresh mmap whose pages fault in
//              and are zeroed again: a third of an S/14 forward at 448×336 on this machine. We keep freed
//              memory in the heap for reuse instead (no mmap for tensors, no trimming of the heap top); the
//              resident size no longer shrinks after a peak.
//   threads    One pool, all cores. LibTorch's OpenMP pool (intra-op ops and oneDNN's bf16 GEMMs) starts at 1
//              thread here (OpenMP's count), while OpenBLAS (fp32 GEMMs) keeps its own pool of 2 that spins
//              between calls: bf16 GEMMs ran on one core, and raising OpenMP alone made the two pools fight
//              (fp32 forward 1.5× slower). So OpenMP gets the cores (divided by LOCAL_WORLD_SIZE when
//              several ranks share the host) and OpenBLAS runs single-threaded inside the caller: bf16
//              forward 1.4–1.7× faster, fp32 unchanged or faster (measured, docs/performance.md).
//
// What the user set wins: GLIBC_TUNABLES with malloc settings leaves the allocator alone, OMP_NUM_THREADS the
// intra-op threads, OPENBLAS_NUM_THREADS OpenBLAS.
#pragma once
#include <string>

namespace amt {

struct RuntimeSettings {
  bool allocator_tuned = false;  // false: left to glibc defaults or to the user's GLIBC_TUNABLES
  int intra_op_threads = 1;      // LibTorch's intra-op (OpenMP) threads after configuration
  int blas_threads = 0;          // OpenBLAS threads after configuration; 0: not OpenBLAS or left as set
};

// Idempotent; call at the start of main(), before the first tensor.
RuntimeSettings configure_runtime();

// One line for logs and reports, e.g. "allocator: freed tensors kept for reuse; intra-op threads: 2; ...".
std::string describe(const RuntimeSettings& settings);

}  // namespace amt
