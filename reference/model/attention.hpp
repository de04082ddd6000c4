// Multi-head attention and the post-norm transformer decoder layer used by the object and contact decoders.
// Written by hand (not torch::nn::MultiheadAttention) so every LayerNorm goes through precision::layer_norm
// and the FFN can use σ-reparam Linears where upstream's apply_sigma_reparam put them (linear1/linear2).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "reference/model/layers.hpp"
#include "reference/model/sigma_linear.hpp"
#include "reference/precision/policy.hpp"

namespace amt::model {

// softmax(q kᵀ/√d) v with separate q/k/v/out projections (upstream MHA in/out projections: plain Linear).
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t dim, int64_t heads);
  // query [B,Nq,D], context [B,Nk,D] → [B,Nq,D].
  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& context);
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, out{nullptr};

 private:
  int64_t heads_;
};
TORCH_MODULE(Attention);

// PyTorch's nn.TransformerDecoderLayer with norm_first=False (post-norm), GELU FFN:
//   x = LN1(x + SA(x));  x = LN2(x + CA(x, memory));  x = LN3(x + FFN(x)),  FFN = SL(D→ff)·GELU·SL(ff→D).
class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(int64_t dim, int64_t heads, int64_t ff, double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& memory,
                        const precision::PrecisionPolicy& policy);
  Attention self_attn{nullptr}, cross_attn{nullptr};
  SigmaLinear linear1{nullptr}, linear2{nullptr};
  LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(DecoderLayer);

}  // namespace amt::model
