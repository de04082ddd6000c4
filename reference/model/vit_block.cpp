#include "reference/model/vit_block.hpp"

#include <torch/torch.h>

#include "reference/precision/module_scope.hpp"

namespace amt::model {

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x_in, const RopeTables* rope,
                                         const precision::PrecisionPolicy& caller) {
  precision::ModuleScope scope(*this, caller);
  const precision::PrecisionPolicy& policy = scope.policy();
  const torch::Tensor x = scope.input(x_in);
  torch::Tensor q = split_heads(query(x), heads_);
  torch::Tensor k = split_heads(key(x), heads_);
  const torch::Tensor v = split_heads(value(x), heads_);
  if (rope != nullptr) {
    // Only the patch tokens rotate; CLS and registers keep their q and k.
    const int64_t n = x.size(1) - prefix_;
    q = torch::cat({q.narrow(2, 0, prefix_), apply_rope(q.narrow(2, prefix_, n), *rope, policy)}, 2);
    k = torch::cat({k.narrow(2, 0, prefix_), apply_rope(k.narrow(2, prefix_, n), *rope, policy)}, 2);
  }
  return scope.output(output(merge_heads(scaled_dot_attention(q, k, v))));
}

SelfAttention make_dinov2_attention(const VitConfig& cfg) {
  const int64_t d = cfg.hidden_size;
  SelfAttention a(cfg.num_heads, 1 + cfg.num_register_tokens);
  const auto self_attention = name_scope(*a, "attention");
  a->query = self_attention->register_module("query", make_linear(d, d, cfg.query_bias));
  a->key = self_attention->register_module("key", make_linear(d, d, cfg.key_bias));
  a->value = self_attention->register_module("value", make_linear(d, d, cfg.value_bias));
  a->output = name_scope(*a, "output")->register_module("dense", make_linear(d, d, cfg.proj_bias));
  return a;
}

SelfAttention make_dinov3_attention(const VitConfig& cfg) {
  const int64_t d = cfg.hidden_size;
  SelfAttention a(cfg.num_heads, 1 + cfg.num_register_tokens);
  a->query = a->register_module("q_proj", make_linear(d, d, cfg.query_bias));
  a->key = a->register_module("k_proj", make_linear(d, d, cfg.key_bias));
  a->value = a->register_module("v_proj", make_linear(d, d, cfg.value_bias));
  a->output = a->register_module("o_proj", make_linear(d, d, cfg.proj_bias));
  return a;
}

// Registered in HF's order, which is also the order the parameters are created and initialised in.
VitBlockImpl::VitBlockImpl(const VitConfig& cfg, AttentionFactory make_attention) {
  const int64_t d = cfg.hidden_size;
  norm1 = register_module("norm1", LayerNorm(d, cfg.layer_norm_eps));
  attention = register_module("attention", make_attention(cfg));
  layer_scale1 = register_module("layer_scale1", LayerScale(d, cfg.layerscale_value));
  norm2 = register_module("norm2", LayerNorm(d, cfg.layer_norm_eps));
  mlp = register_module("mlp", make_feed_forward(cfg));
  layer_scale2 = register_module("layer_scale2", LayerScale(d, cfg.layerscale_value));
}

torch::Tensor VitBlockImpl::forward(const torch::Tensor& x_in, const RopeTables* rope,
                                    const precision::PrecisionPolicy& caller) {
  precision::ModuleScope scope(*this, caller);
  const precision::PrecisionPolicy& policy = scope.policy();
  const torch::Tensor x0 = scope.input(x_in);
  const torch::Tensor x = layer_scale1->add_to(x0, attention->forward(norm1(x0, policy), rope, policy));
  return scope.output(layer_scale2->add_to(x, mlp->forward(norm2(x, policy), policy)));
}

}  // namespace amt::model
