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

Dinov3::Dinov3(const VitConfig& cfg) : Backbone(cfg) {
  if (cfg.kind != BackboneKind::kDinov3)
    throw ConfigError("Dinov3 built from a non-DINOv3 config " + cfg.name);
  embeddings = register_module("embeddings", Dinov3Embeddings(cfg));
  layers = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.num_layers; ++i) layers->push_back(VitBlock(cfg, make_dinov3_attention));
  norm = register_module("norm", LayerNorm(cfg.hidden_size, cfg.layer_norm_eps));
}

RopeTables Dinov3::rope(int64_t hp, int64_t wp, const precision::PrecisionPolicy& policy) const {
  return rope_tables(hp, wp, cfg_.head_dim(), cfg_.rope_theta, policy);
}

torch::Tensor Dinov3::forward_tokens(const torch::Tensor& pixels, int64_t hp, int64_t wp,
                                     const precision::PrecisionPolicy& policy) {
  const RopeTables tables = rope(hp, wp, policy);
  torch::Tensor x = embeddings->forward(pixels, policy);
  for (const auto& layer : *layers) x = layer->as<VitBlock>()->forward(x, &tables, policy);
  return norm(x, policy);
}

}  // namespace amt::model
