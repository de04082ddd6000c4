// DINOv2 (Meta DinoVisionTransformer / HF Dinov2Model): patch 14, CLS, learned absolute positions resampled
// bicubically for any grid, optional register tokens, pre-norm blocks with LayerScale, final LayerNorm.
// Parameter names are HF's (docs/upstream.md VP5.1), so named_parameters() == checkpoint
// keys.
#pragma once
#include "reference/model/backbone.hpp"
#include "reference/model/layers.hpp"
#include "reference/model/vit_block.hpp"

namespace amt::model {

class Dinov2EmbeddingsImpl : public torch::nn::Module {
 public:
  explicit Dinov2EmbeddingsImpl(const VitConfig& cfg);
  // [CLS + pos0, patches + pos, (registers)] → [B, 1+R+hp·wp, D]
  torch::Tensor forward(const torch::Tensor& pixels, int64_t hp, int64_t wp,
                        const precision::PrecisionPolicy& policy);
  // The position embedding added for an hp×wp grid: [1, 1+hp·wp, D], CLS row first, in the parameter dtype.
  torch::Tensor position_embedding(int64_t hp, int64_t wp, const precision::PrecisionPolicy& policy);

  torch::Tensor cls_token, mask_token, position_embeddings, register_tokens;
  torch::nn::Conv2d projection{nullptr};  // embeddings.patch_embeddings.projection

 private:
  VitConfig cfg_;
};
TORCH_MODULE(Dinov2Embeddings);

class Dinov2 : public Backbone {
 public:
  explicit Dinov2(const VitConfig& cfg);
  Dinov2Embeddings embeddings{nullptr};
  torch::nn::ModuleList layers{nullptr};  // encoder.layer: VitBlocks with DINOv2 attention
  LayerNorm layernorm{nullptr};

 protected:
  torch::Tensor forward_tokens(const torch::Tensor& pixels, int64_t hp, int64_t wp,
                               const precision::PrecisionPolicy& policy) override;
  const torch::Tensor& dtype_witness() const override { return embeddings->cls_token; }
};

}  // namespace amt::model
