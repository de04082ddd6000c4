// Object decoder (docs/upstream.md A1.7): Q learned queries, a post-norm transformer decoder over the
// patch tokens (or the token projector's fewer tokens), and per-query heads. Upstream's ObjectPoseEncoder,
// whose outputs are all overwritten by this decoder, is not built (docs/deviations.md).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "reference/model/amt_config.hpp"
#include "reference/model/attention.hpp"
#include "reference/precision/policy.hpp"

namespace amt::model {

struct ObjectOutput {
  torch::Tensor positions;     // [B,Q,3] metres, output dtype
  torch::Tensor rotations;     // [B,Q,6] 6-D rotation (train/rotation.hpp), output dtype
  torch::Tensor confidence;    // [B,Q], output dtype
  torch::Tensor class_logits;  // [B,Q,C], output dtype
  torch::Tensor features;      // [B,Q,D], compute dtype
};

class ObjectDecoderImpl : public torch::nn::Module {
 public:
  ObjectDecoderImpl(int64_t dim, const ObjectDecoderConfig& cfg, double dropout, double init_depth);
  ObjectOutput forward(const torch::Tensor& memory, const precision::PrecisionPolicy& policy);

  torch::Tensor queries;  // [Q,D]
  torch::nn::ModuleList layers{nullptr};
  torch::nn::Linear pos0{nullptr}, pos1{nullptr}, rot0{nullptr}, rot1{nullptr}, conf{nullptr}, cls{nullptr};
  // [3] metres; positions are a residual around it (same reason as HandHead::anchor).
  torch::Tensor anchor;

 private:
  double dropout_;
};
TORCH_MODULE(ObjectDecoder);

}  // namespace amt::model
