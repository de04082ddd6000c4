// Data-parallel gradient averaging, the way PyTorch's DDP reducer lays it out: the trainable parameters in
// reverse registration order (roughly the order backward produces their gradients), cut into buckets by
// bytes (a small first bucket, then bucket_bytes each), each bucket one flat buffer and one all-reduce; all
// buckets of a step are in flight together. Unlike DDP the all-reduce starts after the backward instead of
// overlapping it: on a CPU the communication and the backward share the same cores (docs/distributed.md has
// the measured share of the step).
//
// What is averaged: the gradient of the global batch. Each rank's gradient is the mean over its own images,
// so rank r's contribution is weighted by its real image count n_r: g = Σ n_r g_r / Σ n_r. A rank whose shard
// ran out trains on a dummy batch (V7) with n_r = 0 and contributes exactly nothing; when every rank has
// n_r = 0 the step is skipped. Any rank with a non-finite loss makes every rank skip the step (one flag in
// the same all-reduce), so the replicas never diverge. Buffers are reduced in the optimizer island's dtype
// (fp32 under bf16 policies: a sum of W bf16 gradients would lose 8 bits each time).
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "reference/precision/policy.hpp"
#include "trainer/process_group.hpp"

namespace amt::trainer {

struct BucketOptions {
  int64_t first_bucket_bytes = int64_t{1} << 20;  // DDP's 1 MiB: the first gradients go out early
  int64_t bucket_bytes = int64_t{25} << 20;       // DDP's bucket_cap_mb = 25
};

class GradientBuckets {
 public:
  struct Bucket {
    std::vector<int64_t> params;  // indices into the constructor's list
    int64_t numel = 0;
    int64_t bytes = 0;  // in the reduction dtype
  };
  struct Verdict {
    bool skip = false;         // a rank had a non-finite loss, or no rank had a real image
    double global_images = 0;  // Σ n_r
  };

  // `params`: the trainable parameters in registration order (model.parameters() with requires_grad).
  // amt::ConfigError for bucket sizes < 1.
  GradientBuckets(std::vector<torch::Tensor> params, const precision::PrecisionPolicy& policy,
                  BucketOptions options = {});

  const std::vector<Bucket>& buckets() const { return buckets_; }

  // Replaces every parameter's gradient by the weighted mean over the ranks (creating zero gradients where a
  // parameter got none, so every rank sends the same layout). Every rank must call it once per step, with
  // its own image count and whether its loss was finite. DistributedError when a peer fails.
  Verdict reduce(ProcessGroup& group, double local_images, bool local_nonfinite);

 private:
  std::vector<torch::Tensor> params_;
  torch::ScalarType reduce_dtype_;
  std::vector<Bucket> buckets_;
};

}  // namespace amt::trainer
