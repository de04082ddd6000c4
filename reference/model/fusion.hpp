// Fusion (docs/upstream.md A1.1): self-attention over the three tokens [CLS, hand feature, mean object
// feature], then the mean over them → global feature [B,D]. As upstream: no residual, no norm.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "reference/model/attention.hpp"

namespace amt::model {

class FusionImpl : public torch::nn::Module {
 public:
  FusionImpl(int64_t dim, int64_t heads);
  // cls, hand, objects: [B,D] each → global [B,D] in the compute dtype.
  torch::Tensor forward(const torch::Tensor& cls, const torch::Tensor& hand, const torch::Tensor& objects,
                        const precision::PrecisionPolicy& policy);
  Attention attn{nullptr};
};
TORCH_MODULE(Fusion);

}  // namespace amt::model
