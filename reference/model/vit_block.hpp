// The pre-norm transformer block DINOv2 and DINOv3 share (timm's Block):
//   x = x + γ1·attention(norm1(x)),  x = x + γ2·mlp(norm2(x))
// with HF's key names for both families: norm1, attention, layer_scale1, norm2, mlp, layer_scale2. The
// families differ only in what is injected: the attention's key names and RoPE (make_dinov2_attention,
// make_dinov3_attention) and the MLP (make_feed_forward, from the config).
#pragma once
#include <memory>

#include "reference/model/layers.hpp"
#include "reference/model/rope.hpp"

namespace amt::model {

// Multi-head self-attention over [B, N, D]: the q, k, v and output projections, registered under the
// family's key names by its factory. Given RoPE tables, the q and k of the patch tokens (those after the
// `prefix` CLS and register tokens) rotate. Opens a precision::ModuleScope: a plan may keep it in fp32.
class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(int64_t heads, int64_t prefix) : heads_(heads), prefix_(prefix) {}
  // `rope`: the grid's tables (DINOv3), or null (DINOv2: no rotation).
  torch::Tensor forward(const torch::Tensor& x, const RopeTables* rope,
                        const precision::PrecisionPolicy& policy);

  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, output{nullptr};

 private:
  int64_t heads_, prefix_;
};
TORCH_MODULE(SelfAttention);

// DINOv2's keys: attention.{query,key,value} and output.dense (HF nests them one level deeper).
SelfAttention make_dinov2_attention(const VitConfig& cfg);
// DINOv3's keys: q_proj, k_proj, v_proj, o_proj.
SelfAttention make_dinov3_attention(const VitConfig& cfg);

class VitBlockImpl : public torch::nn::Module {
 public:
  using AttentionFactory = SelfAttention (*)(const VitConfig&);
  VitBlockImpl(const VitConfig& cfg, AttentionFactory make_attention);
  torch::Tensor forward(const torch::Tensor& x, const RopeTables* rope,
                        const precision::PrecisionPolicy& policy);

 private:
  LayerNorm norm1{nullptr}, norm2{nullptr};
  SelfAttention attention{nullptr};
  LayerScale layer_scale1{nullptr}, layer_scale2{nullptr};
  std::shared_ptr<FeedForward> mlp;
};
TORCH_MODULE(VitBlock);

}  // namespace amt::model
