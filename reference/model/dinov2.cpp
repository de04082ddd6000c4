#include "reference/model/dinov2.hpp"

#include <torch/torch.h>

#include "reference/core/error.hpp"
#include "reference/precision/islands.hpp"
#include "reference/precision/module_scope.hpp"

namespace amt::model {

Dinov2EmbeddingsImpl::Dinov2EmbeddingsImpl(const VitConfig& cfg) : cfg_(cfg) {
  const int64_t d = cfg.hidden_size, m = cfg.pos_table_side();
  cls_token = register_parameter("cls_token", torch::zeros({1, 1, d}));
  mask_token =
      register_parameter("mask_token", torch::zeros({1, d}));  // masked pretraining only; unused here
  position_embeddings = register_parameter("position_embeddings", torch::zeros({1, 1 + m * m, d}));
  if (cfg.num_register_tokens > 0) {  // HF Dinov2WithRegisters
    register_tokens = register_parameter("register_tokens", torch::zeros({1, cfg.num_register_tokens, d}));
  }
  auto patch_embeddings = name_scope(*this, "patch_embeddings");
  projection = patch_embeddings->register_module(
      "projection",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(cfg.num_channels, d, cfg.patch_size).stride(cfg.patch_size)));
}

torch::Tensor Dinov2EmbeddingsImpl::position_embedding(int64_t hp, int64_t wp,
                                                       const precision::PrecisionPolicy& policy) {
  const int64_t m = cfg_.pos_table_side(), d = cfg_.hidden_size;
  // Native grid: upstream returns the stored table untouched (resampling 37→37 with the meta factor would
  // move the outputs by 0.12). Upstream's test is npatch == M² and H == W, i.e. hp == wp == M.
  if (hp == m && wp == m) return position_embeddings;
  const torch::Tensor cls_row = position_embeddings.narrow(1, 0, 1);
  const torch::Tensor table =
      position_embeddings.narrow(1, 1, m * m).reshape({1, m, m, d}).permute({0, 3, 1, 2});
  double scale_h = 0.0, scale_w = 0.0;  // 0: resample to the explicit size (hf)
  if (cfg_.pos_interp == PosInterp::kMeta) {
    // Meta passes scale factors, and PyTorch then samples at (i+½)·M/(n+offset) − ½, not (i+½)·M/n − ½.
    scale_h = (static_cast<double>(hp) + cfg_.interpolate_offset) / static_cast<double>(m);
    scale_w = (static_cast<double>(wp) + cfg_.interpolate_offset) / static_cast<double>(m);
  }
  // The fp32 island (fp32 even under the fp64 policy, as upstream): [1,D,hp,wp] fp32.
  const torch::Tensor resampled = precision::interpolate_position_table(table, hp, wp, scale_h, scale_w);
  const torch::Tensor rows = resampled.permute({0, 2, 3, 1}).reshape({1, hp * wp, d});
  return torch::cat({cls_row, precision::to_activation(rows, policy)}, 1);
}

torch::Tensor Dinov2EmbeddingsImpl::forward(const torch::Tensor& pixels_in, int64_t hp, int64_t wp,
                                            const precision::PrecisionPolicy& caller) {
  precision::ModuleScope scope(*this, caller);
  const precision::PrecisionPolicy& policy = scope.policy();
  const torch::Tensor pixels = scope.input(pixels_in);
  const int64_t b = pixels.size(0);
  const torch::Tensor patches = projection(pixels).flatten(2).transpose(1, 2);  // [B, hp·wp, D]
  // Under autocast the conv yields bf16; cat promotes to the fp32 CLS token, so the residual stream is fp32.
  torch::Tensor x = torch::cat({cls_token.expand({b, -1, -1}), patches}, 1);
  x = x + position_embedding(hp, wp, policy);
  if (register_tokens.defined()) {
    // Registers carry no position: inserted after the position embedding, between CLS and the patches.
    x = torch::cat({x.narrow(1, 0, 1), register_tokens.expand({b, -1, -1}), x.narrow(1, 1, hp * wp)}, 1);
  }
  return scope.output(x);
}

Dinov2::Dinov2(const VitConfig& cfg) : Backbone(cfg) {
  if (cfg.kind != BackboneKind::kDinov2)
    throw ConfigError("Dinov2 built from a non-DINOv2 config " + cfg.name);
  embeddings = register_module("embeddings", Dinov2Embeddings(cfg));
  layers = name_scope(*this, "encoder")->register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.num_layers; ++i) layers->push_back(VitBlock(cfg, make_dinov2_attention));
  layernorm = register_module("layernorm", LayerNorm(cfg.hidden_size, cfg.layer_norm_eps));
}

torch::Tensor Dinov2::forward_tokens(const torch::Tensor& pixels, int64_t hp, int64_t wp,
                                     const precision::PrecisionPolicy& policy) {
  torch::Tensor x = embeddings->forward(pixels, hp, wp, policy);
  for (const auto& layer : *layers) x = layer->as<VitBlock>()->forward(x, nullptr, policy);
  return layernorm(x, policy);
}

}  // namespace amt::model
