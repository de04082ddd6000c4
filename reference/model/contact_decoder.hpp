// Contact decoder (docs/upstream.md A1.8): contact queries attend to the hand joints and object
// positions, then a post-norm decoder over [context, queries]; heads for points, confidence, 4 contact types,
// forces and 6 interaction types. Upstream's ContactEncoder (all outputs overwritten) is not built.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "reference/model/amt_config.hpp"
#include "reference/model/attention.hpp"
#include "reference/model/sigma_linear.hpp"
#include "reference/precision/policy.hpp"

namespace amt::model {

struct ContactOutput {
  torch::Tensor points;            // [B,P,3] metres, output dtype
  torch::Tensor confidence;        // [B,P], output dtype
  torch::Tensor types;             // [B,P,4] logits, output dtype
  torch::Tensor forces;            // [B,P,3], output dtype
  torch::Tensor interaction_type;  // [B,6] logits, output dtype
  torch::Tensor features;          // [B,P,h], compute dtype
};

class ContactDecoderImpl : public torch::nn::Module {
 public:
  ContactDecoderImpl(int64_t dim, int64_t hand_joints, int64_t objects, const ContactDecoderConfig& cfg,
                     double dropout);
  // global [B,D] (compute dtype); joints [B,21,3] and object_positions [B,Q,3] in the output dtype — they
  // re-enter the network through precision::to_activation.
  ContactOutput forward(const torch::Tensor& global, const torch::Tensor& joints,
                        const torch::Tensor& object_positions, const precision::PrecisionPolicy& policy);

  SigmaLinear hand_proj{nullptr}, obj_proj{nullptr}, global_proj{nullptr}, hand_point_proj{nullptr},
      obj_point_proj{nullptr};
  torch::Tensor queries;  // [P,h]
  Attention hand_attn{nullptr}, obj_attn{nullptr};
  torch::nn::ModuleList layers{nullptr};
  torch::nn::Linear point_head{nullptr}, conf_head{nullptr}, type_head{nullptr}, force_head{nullptr},
      inter0{nullptr}, inter1{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(ContactDecoder);

}  // namespace amt::model
