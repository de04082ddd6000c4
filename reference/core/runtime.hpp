// Process-wide runtime settings every AMT-Ref executable applies once at start-up (docs/performance.md).
//
//   allocator  glibc returns every freed block above its mmap threshold (128 KiB to 32 MiB, adaptive) to the
//              kernel, so each new activation tensor of a forward pass is a fresh mmap whose pages fault in
//              and are zeroed again: 30–35 % of an S/14 forward at 448×336 on this machine. We keep freed
//              memory in the heap for reuse instead (no mmap for tensors, no trimming of the heap top). The
//              process's peak memory is unchanged; its resident size no longer shrinks after a peak.
//   threads    LibTorch's intra-op pool stays at what it chose (1 on this 2-core machine, OpenMP's count of
//              physical cores): GEMMs already run on OpenBLAS's own pool of 2 threads, and a second OpenMP
//              thread spinning beside it made the same forward 1.5–1.7× slower (measured, same docs).
//
// An explicit GLIBC_TUNABLES with malloc settings wins: then the allocator is left as the user set it.
#pragma once
#include <string>

namespace amt {

struct RuntimeSettings {
  bool allocator_tuned = false;  // false: left to glibc defaults or to the user's GLIBC_TUNABLES
  int intra_op_threads = 1;      // LibTorch's intra-op threads after configuration
};

// Idempotent; call at the start of main(), before the first tensor.
RuntimeSettings configure_runtime();

// One line for logs and reports, e.g. "allocator: tensors kept for reuse; intra-op threads: 1".
std::string describe(const RuntimeSettings& settings);

}  // namespace amt
