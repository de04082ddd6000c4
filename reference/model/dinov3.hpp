// DINOv3 (Meta DinoVisionTransformer / HF DINOv3ViTModel): patch 16, CLS + registers, no absolute positions,
// axial RoPE on the patch tokens' q and k in every layer, no key bias, LayerScale, optional gated MLP, final
// norm. Parameter names are HF's (docs/upstream.md VP5.2).
#pragma once
#include "reference/model/backbone.hpp"
#include "reference/model/layers.hpp"
#include "reference/model/rope.hpp"
#include "reference/model/vit_block.hpp"

namespace amt::model {

class Dinov3EmbeddingsImpl : public torch::nn::Module {
 public:
  explicit Dinov3EmbeddingsImpl(const VitConfig& cfg);
  // [CLS, registers, patches] → [B, 1+R+hp·wp, D]
  torch::Tensor forward(const torch::Tensor& pixels, const precision::PrecisionPolicy& policy);

  torch::Tensor cls_token, mask_token, register_tokens;
  torch::nn::Conv2d patch_embeddings{nullptr};
};
TORCH_MODULE(Dinov3Embeddings);

class Dinov3 : public Backbone {
 public:
  explicit Dinov3(const VitConfig& cfg);
  // The tables every layer uses for an hp×wp grid (kRopeTables island dtype).
  RopeTables rope(int64_t hp, int64_t wp, const precision::PrecisionPolicy& policy) const;

  Dinov3Embeddings embeddings{nullptr};
  torch::nn::ModuleList layers{nullptr};  // layer: VitBlocks with DINOv3 attention (RoPE)
  LayerNorm norm{nullptr};

 protected:
  torch::Tensor forward_tokens(const torch::Tensor& pixels, int64_t hp, int64_t wp,
                               const precision::PrecisionPolicy& policy) override;
  const torch::Tensor& dtype_witness() const override { return embeddings->cls_token; }
};

}  // namespace amt::model
