// Image encoder (docs/design.md §2): backbone → +0.1·task embedding → output projection
// SigmaLinear → LayerNorm (precision::layer_norm) → GELU → dropout, applied to CLS and patch tokens alike.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>

#include "reference/model/backbone.hpp"
#include "reference/model/layers.hpp"
#include "reference/model/sigma_linear.hpp"
#include "reference/precision/policy.hpp"

namespace amt::model {

struct EncoderOutput {
  torch::Tensor cls;    // [B,D]
  torch::Tensor patch;  // [B,Hp·Wp,D], row-major over the grid
  torch::Tensor grid;   // [B,D,Hp,Wp], the same values as `patch`
  int64_t Hp = 0, Wp = 0;
  torch::Tensor backbone_cls;    // [B,D] the backbone's own outputs, before the projection (probes)
  torch::Tensor backbone_patch;  // [B,Hp·Wp,D]
};

class ImageEncoderImpl : public torch::nn::Module {
 public:
  // `backbone` is used as given (pretrained weights stay untouched: heads are initialised separately).
  ImageEncoderImpl(std::shared_ptr<Backbone> backbone, double dropout);
  // pixels conformed by precision::conform_batch. Outputs are in the compute dtype.
  EncoderOutput forward(const torch::Tensor& pixels, const precision::PrecisionPolicy& policy);

  std::shared_ptr<Backbone> backbone;
  torch::Tensor task_embedding;  // [1,1,D]
  SigmaLinear proj{nullptr};
  LayerNorm proj_norm{nullptr};

 private:
  torch::Tensor project(const torch::Tensor& x, const precision::PrecisionPolicy& policy);
  double dropout_;
};
TORCH_MODULE(ImageEncoder);

}  // namespace amt::model
