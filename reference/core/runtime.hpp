// Process-wide runtime settings every AMT-Ref executable applies once at start-up (docs/performance.md).
//
//   allocator  glibc returns every freed block above its mmap threshold (128 KiB to 32 MiB, adaptive) to the
//              kernel, so each new activation tensor of a forward pass is a fresh mmap whose pages fault in
//              and are zeroed again: a third of an S/14 forward at 448×336 on this machine. We keep freed
//              memory in the heap for reuse instead (no mmap for tensors, no trimming of the heap top); the
//              resident size no longer shrinks after a peak.
//   threads    One pool: the wheel's LibTorch runs fp32 GEMMs in MKL and bf16 ones in oneDNN, both on its
//              OpenMP threads, so every core goes to that pool (divided by LOCAL_WORLD_SIZE when several
//              ranks share a host; amt_ref_train --nproc sets it). (LibTorch 1.13 from Debian had a second
//              pool, OpenBLAS's, and we switched the cores between the two per computation; the wheel has
//              no OpenBLAS.)
//
// What the user set wins: GLIBC_TUNABLES with malloc settings leaves the allocator alone, OMP_NUM_THREADS the
// intra-op threads.
#pragma once
#include <string>

namespace amt {

struct RuntimeSettings {
  bool allocator_tuned = false;  // false: left to glibc defaults or to the user's GLIBC_TUNABLES
  int cores = 1;                 // cores this process may use (hardware threads / LOCAL_WORLD_SIZE)
  bool threads_managed = false;  // false: OMP_NUM_THREADS set
};

// Idempotent; call at the start of main(), before the first tensor.
RuntimeSettings configure_runtime();

// One line for logs and reports, e.g. "allocator: freed tensors kept for reuse; threads: 2 cores, ...".
std::string describe(const RuntimeSettings& settings);

}  // namespace amt
