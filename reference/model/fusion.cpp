#include "reference/model/fusion.hpp"

#include <torch/torch.h>

#include "reference/precision/module_scope.hpp"

namespace amt::model {

FusionImpl::FusionImpl(int64_t dim, int64_t heads) {
  attn = register_module("attn", Attention(dim, heads));
}

torch::Tensor FusionImpl::forward(const torch::Tensor& cls, const torch::Tensor& hand,
                                  const torch::Tensor& objects, const precision::PrecisionPolicy& caller) {
  precision::ModuleScope scope(*this, caller);
  const torch::Tensor tokens =
      torch::stack({scope.input(cls), scope.input(hand), scope.input(objects)}, 1);  // [B,3,D]
  return scope.output(attn(tokens, tokens).mean(1));
}

}  // namespace amt::model
