#include "trainer/gradient_buckets.hpp"

#include <torch/torch.h>

#include "reference/core/error.hpp"
#include "reference/precision/islands.hpp"

namespace amt::trainer {

GradientBuckets::GradientBuckets(std::vector<torch::Tensor> params, const precision::PrecisionPolicy& policy,
                                 BucketOptions options)
    : params_(std::move(params)),
      reduce_dtype_(precision::island_dtype(precision::Island::kOptimizer, policy)) {
  if (options.first_bucket_bytes < 1 || options.bucket_bytes < 1)
    throw ConfigError("gradient buckets: sizes must be >= 1 byte");
  const int64_t item = static_cast<int64_t>(c10::elementSize(reduce_dtype_));
  int64_t cap = options.first_bucket_bytes;
  Bucket current;
  for (int64_t i = static_cast<int64_t>(params_.size()) - 1; i >= 0; --i) {
    const int64_t n = params_[static_cast<size_t>(i)].numel();
    current.params.push_back(i);
    current.numel += n;
    current.bytes += n * item;
    if (current.bytes >= cap) {
      buckets_.push_back(std::move(current));
      current = Bucket{};
      cap = options.bucket_bytes;
    }
  }
  if (!current.params.empty()) buckets_.push_back(std::move(current));
}

GradientBuckets::Verdict GradientBuckets::reduce(ProcessGroup& group, double local_images,
                                                 bool local_nonfinite) {
  const torch::Device device = params_.empty() ? torch::Device(torch::kCPU) : params_.front().device();
  std::vector<torch::Tensor> buffers;
  // First the control values, in fp64: Σ n_r and the number of ranks whose loss was not finite.
  buffers.push_back(torch::tensor({local_images, local_nonfinite ? 1.0 : 0.0},
                                  torch::TensorOptions().dtype(torch::kDouble).device(device)));
  for (const Bucket& b : buckets_) {
    torch::Tensor flat = torch::zeros({b.numel}, torch::TensorOptions().dtype(reduce_dtype_).device(device));
    if (!local_nonfinite && local_images > 0.0) {
      int64_t offset = 0;
      for (int64_t i : b.params) {
        const torch::Tensor& p = params_[static_cast<size_t>(i)];
        if (p.grad().defined()) flat.narrow(0, offset, p.numel()).copy_(p.grad().reshape({-1}));
        offset += p.numel();
      }
      flat.mul_(local_images);
    }
    buffers.push_back(flat);
  }
  group.allreduce_sum(buffers);

  Verdict v;
  const torch::Tensor control = buffers.front().cpu();
  v.global_images = control[0].item<double>();
  v.skip = control[1].item<double>() > 0.0 || !(v.global_images > 0.0);
  if (v.skip) return v;
  for (size_t k = 0; k < buckets_.size(); ++k) {
    torch::Tensor flat = buffers[k + 1].div_(v.global_images);
    int64_t offset = 0;
    for (int64_t i : buckets_[k].params) {
      torch::Tensor p = params_[static_cast<size_t>(i)];
      const torch::Tensor mean = flat.narrow(0, offset, p.numel()).view(p.sizes());
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      p.mutable_grad().copy_(mean);
      offset += p.numel();
    }
  }
  return v;
}

}  // namespace amt::trainer
