#include "reference/model/dinov3.hpp"

#include <torch/torch.h>

#include "reference/core/error.hpp"
#include "reference/precision/module_scope.hpp"

namespace amt::model {

Dinov3EmbeddingsImpl::Dinov3EmbeddingsImpl(const VitConfig& cfg) {
  const int64_t d = cfg.hidden_size;
  cls_token = register_parameter("cls_token", torch::zeros({1, 1, d}));
  mask_token =
      register_parameter("mask_token", torch::zeros({1, 1, d}));  // masked pretraining only; unused here
  // HF creates this parameter even with 0 registers, so checkpoints always carry the key.
  register_tokens = register_parameter("register_tokens", torch::zeros({1, cfg.num_register_tokens, d}));
  patch_embeddings = register_module(
      "patch_embeddings",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(cfg.num_channels, d, cfg.patch_size).stride(cfg.patch_size)));
}

torch::Tensor Dinov3EmbeddingsImpl::forward(const torch::Tensor& pixels_in,
                                            const precision::PrecisionPolicy& caller) {
  precision::ModuleScope scope(*this, caller);
  const torch::Tensor pixels = scope.input(pixels_in);
  const int64_t b = pixels.size(0);
  const torch::Tensor patches = patch_embeddings(pixels).flatten(2).transpose(1, 2);  // [B, hp·wp, D]
  // Under autocast the conv yields bf16; cat promotes to the fp32 tokens, so the residual stream is fp32.
  return scope.output(
      torch::cat({cls_token.expand({b, -1, -1}), register_tokens.expand({b, -1, -1}), patches}, 1));
}

Dinov3LayerImpl::Dinov3LayerImpl(const VitConfig& cfg)
    : heads_(cfg.num_heads), prefix_(1 + cfg.num_register_tokens) {
  const int64_t d = cfg.hidden_size;
  norm1 = register_module("norm1", LayerNorm(d, cfg.layer_norm_eps));
  auto attention = register_module("attention", std::make_shared<torch::nn::Module>());
  attention_ = attention;
  q_proj = attention->register_module("q_proj", make_linear(d, d, cfg.query_bias));
  k_proj = attention->register_module("k_proj", make_linear(d, d, cfg.key_bias));
  v_proj = attention->register_module("v_proj", make_linear(d, d, cfg.value_bias));
  o_proj = attention->register_module("o_proj", make_linear(d, d, cfg.proj_bias));
  layer_scale1 = register_module("layer_scale1", LayerScale(d, cfg.layerscale_value));
  norm2 = register_module("norm2", LayerNorm(d, cfg.layer_norm_eps));
  mlp = register_module("mlp", make_feed_forward(cfg));
  layer_scale2 = register_module("layer_scale2", LayerScale(d, cfg.layerscale_value));
}

torch::Tensor Dinov3LayerImpl::attend(const torch::Tensor& x_in, const RopeTables& rope,
                                      const precision::PrecisionPolicy& caller) {
  precision::ModuleScope scope(*attention_, caller);
  const precision::PrecisionPolicy& policy = scope.policy();
  const torch::Tensor x = scope.input(x_in);
  torch::Tensor q = split_heads(q_proj(x), heads_);
  torch::Tensor k = split_heads(k_proj(x), heads_);
  const torch::Tensor v = split_heads(v_proj(x), heads_);
  // Only the patch tokens rotate; CLS and registers keep their q and k.
  const int64_t n = x.size(1) - prefix_;
  q = torch::cat({q.narrow(2, 0, prefix_), apply_rope(q.narrow(2, prefix_, n), rope, policy)}, 2);
  k = torch::cat({k.narrow(2, 0, prefix_), apply_rope(k.narrow(2, prefix_, n), rope, policy)}, 2);
  return scope.output(o_proj(merge_heads(scaled_dot_attention(q, k, v))));
}

torch::Tensor Dinov3LayerImpl::forward(const torch::Tensor& x_in, const RopeTables& rope,
                                       const precision::PrecisionPolicy& caller) {
  precision::ModuleScope scope(*this, caller);
  const precision::PrecisionPolicy& policy = scope.policy();
  const torch::Tensor x0 = scope.input(x_in);
  const torch::Tensor x = layer_scale1->add_to(x0, attend(norm1(x0, policy), rope, policy));
  return scope.output(layer_scale2->add_to(x, mlp->forward(norm2(x, policy), policy)));
}

Dinov3::Dinov3(const VitConfig& cfg) : Backbone(cfg) {
  if (cfg.kind != BackboneKind::kDinov3)
    throw ConfigError("Dinov3 built from a non-DINOv3 config " + cfg.name);
  embeddings = register_module("embeddings", Dinov3Embeddings(cfg));
  layers = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.num_layers; ++i) layers->push_back(Dinov3Layer(cfg));
  norm = register_module("norm", LayerNorm(cfg.hidden_size, cfg.layer_norm_eps));
}

RopeTables Dinov3::rope(int64_t hp, int64_t wp, const precision::PrecisionPolicy& policy) const {
  return rope_tables(hp, wp, cfg_.head_dim(), cfg_.rope_theta, policy);
}

torch::Tensor Dinov3::forward_tokens(const torch::Tensor& pixels, int64_t hp, int64_t wp,
                                     const precision::PrecisionPolicy& policy) {
  const RopeTables tables = rope(hp, wp, policy);
  torch::Tensor x = embeddings->forward(pixels, policy);
  for (const auto& layer : *layers) x = layer->as<Dinov3Layer>()->forward(x, tables, policy);
  return norm(x, policy);
}

}  // namespace amt::model
