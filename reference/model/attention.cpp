#include "reference/model/attention.hpp"

#include <torch/torch.h>

#include "reference/core/error.hpp"
#include "reference/precision/module_scope.hpp"

namespace amt::model {

AttentionImpl::AttentionImpl(int64_t dim, int64_t heads) : heads_(heads) {
  if (heads < 1 || dim % heads != 0) {
    throw ConfigError("attention: width " + std::to_string(dim) + " is not divisible by " +
                      std::to_string(heads) + " heads");
  }
  q = register_module("q", make_linear(dim, dim, true));
  k = register_module("k", make_linear(dim, dim, true));
  v = register_module("v", make_linear(dim, dim, true));
  out = register_module("out", make_linear(dim, dim, true));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& context) {
  const torch::Tensor a = scaled_dot_attention(split_heads(q(query), heads_), split_heads(k(context), heads_),
                                               split_heads(v(context), heads_));
  return out(merge_heads(a));
}

DecoderLayerImpl::DecoderLayerImpl(int64_t dim, int64_t heads, int64_t ff, double dropout)
    : dropout_(dropout) {
  self_attn = register_module("self_attn", Attention(dim, heads));
  cross_attn = register_module("cross_attn", Attention(dim, heads));
  linear1 = register_module("linear1", SigmaLinear(dim, ff));
  linear2 = register_module("linear2", SigmaLinear(ff, dim));
  norm1 = register_module("norm1", LayerNorm(dim, 1e-5));
  norm2 = register_module("norm2", LayerNorm(dim, 1e-5));
  norm3 = register_module("norm3", LayerNorm(dim, 1e-5));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x_in, const torch::Tensor& memory_in,
                                        const precision::PrecisionPolicy& caller) {
  precision::ModuleScope scope(*this, caller);
  const precision::PrecisionPolicy& policy = scope.policy();
  const bool train = is_training();
  torch::Tensor x = scope.input(x_in);
  const torch::Tensor memory = scope.input(memory_in);
  x = norm1->forward(x + torch::dropout(self_attn(x, x), dropout_, train), policy);
  x = norm2->forward(x + torch::dropout(cross_attn(x, memory), dropout_, train), policy);
  const torch::Tensor h = torch::dropout(torch::gelu(linear1(x)), dropout_, train);
  return scope.output(norm3->forward(x + torch::dropout(linear2(h), dropout_, train), policy));
}

}  // namespace amt::model
