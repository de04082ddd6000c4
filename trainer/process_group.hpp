// The ranks of a distributed run and what they say to each other: LibTorch's own c10d engine (the one
// torch.distributed uses), a ProcessGroupGloo over a TCPStore (rank 0 hosts it at
// --master-addr:--master-port) or a FileStore (--store-file, a path every rank sees). With a CUDA LibTorch
// the same interface takes NCCL; this build is CPU only, so Gloo it is (docs/distributed.md).
//
// Every collective has a timeout (DistOptions::timeout_s): a rank that dies closes its connections and the
// others fail at once; a rank that hangs makes the others fail after the timeout. Either way a collective
// throws amt::DistributedError naming this rank and the operation, never blocks for ever. The c10d and Gloo
// headers stay in process_group.cpp (they are heavy and need USE_C10D_GLOO).
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "reference/core/error.hpp"

namespace amt::trainer {

// A collective or the store failed: a peer died or hung past the timeout, or the rendezvous did not complete.
class DistributedError : public Error {
 public:
  explicit DistributedError(const std::string& what) : Error(what) {}
};

struct DistOptions {
  int64_t world_size = 1;
  int64_t rank = 0;
  int64_t local_rank = 0;                 // rank on this host (informational on CPU; the GPU index on CUDA)
  std::string master_addr = "127.0.0.1";  // where rank 0's TCPStore listens
  int64_t master_port = 29500;
  std::string store_file;          // non-empty: a FileStore at this path instead of the TCPStore
  double timeout_s = 300.0;        // every collective, and the rendezvous
  double wait_timeout_s = 3600.0;  // store waits for rank 0's long solo work: the gate, validation
};

// torchrun's environment (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK) over `defaults`, for the
// variables that are set. amt::ConfigError naming the variable when one does not parse.
DistOptions dist_options_from_environment(DistOptions defaults);
// amt::ConfigError naming the option for a world size < 1, a rank outside [0, world), a port outside
// [1, 65535] or a timeout <= 0.
void check_dist_options(const DistOptions& options);

class ProcessGroup {
 public:
  // world_size 1: a group of one that never touches the network (every collective is the identity).
  // Otherwise connects to the store and the other ranks; DistributedError when they do not all arrive
  // within timeout_s.
  static std::unique_ptr<ProcessGroup> connect(const DistOptions& options);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int64_t rank() const { return options_.rank; }
  int64_t world_size() const { return options_.world_size; }
  bool is_root() const { return options_.rank == 0; }
  const DistOptions& options() const { return options_; }

  // In place: every tensor becomes rank `root`'s.
  void broadcast(std::vector<torch::Tensor>& tensors, int64_t root = 0);
  // In place: every tensor becomes the sum over the ranks. All are launched, then all waited for (the
  // buckets of one step travel concurrently).
  void allreduce_sum(std::vector<torch::Tensor>& tensors);
  // Every rank's `tensor` (same shape and dtype everywhere), stacked along a new first dim in rank order.
  torch::Tensor allgather(const torch::Tensor& tensor);
  // Rank 0's `value` on every rank, through the store, for what rank 0 does alone and the others wait for
  // (the gate's verdict, the prepared data, a validation and checkpoint): the others wait up to
  // wait_timeout_s, and rank 0 returns only once every rank has read it (it hosts the store, and leaving
  // earlier could take the value away). `key` must be unique within the run. DistributedError naming the key
  // on a timeout or a lost store. On a group of one: `value`.
  std::string share_from_root(const std::string& key, const std::string& value);

 private:
  struct Impl;
  ProcessGroup(DistOptions options, std::unique_ptr<Impl> impl);
  DistOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace amt::trainer
