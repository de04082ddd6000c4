#include "reference/model/contact_decoder.hpp"

#include <torch/torch.h>

#include "reference/precision/islands.hpp"

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

ContactOutput ContactDecoderImpl::forward(const torch::Tensor& global, const torch::Tensor& joints,
                                          const torch::Tensor& object_positions,
                                          const precision::PrecisionPolicy& policy) {
  const bool train = is_training();
  const int64_t B = global.size(0);
  const torch::Tensor j = precision::to_activation(joints, policy);
  const torch::Tensor o = precision::to_activation(object_positions, policy);
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
  out.features = x;
  out.points = precision::to_output(point_head(x), policy);
  out.confidence = precision::to_output(torch::sigmoid(conf_head(x)).squeeze(-1), policy);
  out.types = precision::to_output(type_head(x), policy);
  out.forces = precision::to_output(force_head(x), policy);
  out.interaction_type = precision::to_output(inter1(torch::relu(inter0(x.mean(1)))), policy);
  return out;
}

}  // namespace amt::model
