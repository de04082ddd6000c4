#include "reference/model/contact_decoder.hpp"

#include <torch/torch.h>

#include "reference/precision/islands.hpp"
#include "reference/precision/module_scope.hpp"

namespace amt::model {

ContactDecoderImpl::ContactDecoderImpl(int64_t d, int64_t hand_joints, int64_t objects,
                                       const ContactDecoderConfig& cfg, double dropout)
    : dropout_(dropout) {
  const int64_t h = cfg.hidden;
  hand_proj = register_module("hand_proj", SigmaLinear(hand_joints * 3, h));
  obj_proj = register_module("obj_proj", SigmaLinear(objects * 3, h));
  global_proj = register_module("global_proj", SigmaLinear(d, h));
  hand_point_proj = register_module("hand_point_proj", SigmaLinear(3, h));
  obj_point_proj = register_module("obj_point_proj", SigmaLinear(3, h));
  queries = register_parameter("queries", torch::zeros({cfg.points, h}));
  hand_attn = register_module("hand_attn", Attention(h, cfg.heads));
  obj_attn = register_module("obj_attn", Attention(h, cfg.heads));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.layers; ++i) layers->push_back(DecoderLayer(h, cfg.heads, cfg.ff, dropout));
  point_head = register_module("point_head", make_linear(h, 3, true));
  conf_head = register_module("conf_head", make_linear(h, 1, true));
  type_head = register_module("type_head", make_linear(h, 4, true));
  force_head = register_module("force_head", make_linear(h, 3, true));
  inter0 = register_module("inter0", make_linear(h, cfg.interaction_hidden, true));
  inter1 = register_module("inter1", make_linear(cfg.interaction_hidden, 6, true));
}

ContactOutput ContactDecoderImpl::forward(const torch::Tensor& global_in, const torch::Tensor& joints,
                                          const torch::Tensor& object_positions,
                                          const precision::PrecisionPolicy& caller) {
  precision::ModuleScope scope(*this, caller);
  const precision::PrecisionPolicy& policy = scope.policy();
  const bool train = is_training();
  const int64_t B = global_in.size(0);
  const torch::Tensor global = scope.input(global_in);
  const torch::Tensor j = precision::to_activation(scope.input(joints), policy);
  const torch::Tensor o = precision::to_activation(scope.input(object_positions), policy);
  const torch::Tensor context =
      (hand_proj(j.reshape({B, -1})) + obj_proj(o.reshape({B, -1})) + global_proj(global)).unsqueeze(1);
  torch::Tensor q = queries.unsqueeze(0).expand({B, -1, -1});
  // As upstream: the two context attentions have no residual.
  q = torch::dropout(hand_attn(q, hand_point_proj(j)), dropout_, train);
  q = torch::dropout(obj_attn(q, obj_point_proj(o)), dropout_, train);
  const torch::Tensor memory = torch::cat({context, q}, 1);
  torch::Tensor x = q;
  for (const auto& layer : *layers) x = layer->as<DecoderLayer>()->forward(x, memory, policy);
  ContactOutput out;
  out.features = scope.output(x);
  out.points = scope.output_geometric(precision::to_output(point_head(x), policy));
  out.confidence =
      scope.output_geometric(precision::to_output(torch::sigmoid(conf_head(x)).squeeze(-1), policy));
  out.types = scope.output_geometric(precision::to_output(type_head(x), policy));
  out.forces = scope.output_geometric(precision::to_output(force_head(x), policy));
  out.interaction_type =
      scope.output_geometric(precision::to_output(inter1(torch::relu(inter0(x.mean(1)))), policy));
  return out;
}

}  // namespace amt::model
