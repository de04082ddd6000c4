#include "reference/model/fusion.hpp"

#include <torch/torch.h>

namespace amt::model {

FusionImpl::FusionImpl(int64_t dim, int64_t heads) {
  attn = register_module("attn", Attention(dim, heads));
}

torch::Tensor FusionImpl::forward(const torch::Tensor& cls, const torch::Tensor& hand,
                                  const torch::Tensor& objects) {
  const torch::Tensor tokens = torch::stack({cls, hand, objects}, 1);  // [B,3,D]
  return attn(tokens, tokens).mean(1);
}

}  // namespace amt::model
