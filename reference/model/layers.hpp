// Building blocks shared by the DINOv2 and DINOv3 backbones (timm vision_transformer.py style, HF key names).
// Dtype rule (docs/design.md P1/P2): nothing here casts; LayerNorm goes through precision::layer_norm.
// LayerNorm and FeedForward open a precision::ModuleScope (a PrecisionPlan may keep them in fp32).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>

#include "reference/model/vit_config.hpp"
#include "reference/precision/islands.hpp"
#include "reference/precision/policy.hpp"

namespace amt::model {

// LayerNorm over the last dim holding HF's `weight`/`bias`; computed by precision::layer_norm, which keeps it
// well-defined when the input is bf16 and the parameters fp32 (LibTorch 1.13 has no mixed kernel).
class LayerNormImpl : public torch::nn::Module {
 public:
  LayerNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x, const precision::PrecisionPolicy& policy);
  double eps() const { return eps_; }

  torch::Tensor weight, bias;

 private:
  double eps_;
};
TORCH_MODULE(LayerNorm);

// Per-channel residual gain (HF `layer_scaleN.lambda1`, Meta `lsN.gamma`).
class LayerScaleImpl : public torch::nn::Module {
 public:
  LayerScaleImpl(int64_t dim, double init);
  // residual + λ·x in one pass over the tokens (the block's residual add; type promotion as x·λ then +).
  torch::Tensor add_to(const torch::Tensor& residual, const torch::Tensor& x) {
    return precision::add_scaled_residual(residual, x, lambda1);
  }

  torch::Tensor lambda1;
};
TORCH_MODULE(LayerScale);

torch::Tensor activate(const torch::Tensor& x, Activation act);

// The block's feed-forward network; which one (and its HF key names) depends on the family and config:
//   DINOv2 plain   fc1 → act → fc2
//   DINOv2 SwiGLU  weights_in (2 branches, fused) → silu(x1)·x2 → weights_out        (giant)
//   DINOv3 plain   up_proj → act → down_proj
//   DINOv3 gated   down_proj(act(gate_proj x) · up_proj x)                            (S/16+, H/16+)
class FeedForward : public torch::nn::Module {
 public:
  // The module's precision scope around compute().
  torch::Tensor forward(const torch::Tensor& x, const precision::PrecisionPolicy& policy);

 protected:
  virtual torch::Tensor compute(const torch::Tensor& x) = 0;
};
std::shared_ptr<FeedForward> make_feed_forward(const VitConfig& cfg);

torch::nn::Linear make_linear(int64_t in, int64_t out, bool bias);

// HF nests some layers one level deeper than the computation needs (attention.attention.query,
// patch_embeddings.projection, encoder.layer): an empty Module registered as `name` under `parent` gives
// the key prefix without a class of its own.
std::shared_ptr<torch::nn::Module> name_scope(torch::nn::Module& parent, const std::string& name);

// [B,N,H·d] → [B,H,N,d] and back.
torch::Tensor split_heads(const torch::Tensor& x, int64_t heads);
torch::Tensor merge_heads(const torch::Tensor& x);

// softmax(q·kᵀ/√d)·v over [B,H,N,d] inputs, no mask, no dropout — what the oracle's glue computed. Fused
// (at::scaled_dot_product_attention, as upstream's F.scaled_dot_product_attention) in fp32 and fp16;
// written out (matmul, softmax, matmul) in fp64, the goldens' reference, and in bf16, where it is faster
// on the CPU (layers.cpp). attention_math_path() is the
// written-out form alone, for comparing the two.
torch::Tensor scaled_dot_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);
torch::Tensor attention_math_path(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

// Deterministic random initialisation in the spirit of upstream's init (tokens and Linear weights N(0, 0.02²)
// clipped at 2σ, zero biases, LayerNorm 1/0, LayerScale = layerscale_value, patch conv U(±1/√fan_in)). For
// benchmarks and tests; real runs load a checkpoint. Works on parameters by their HF names.
void init_vit_weights(torch::nn::Module& module, const VitConfig& cfg, uint64_t seed);

}  // namespace amt::model
