#include "reference/model/object_decoder.hpp"

#include <torch/torch.h>

#include "reference/precision/islands.hpp"
#include "reference/precision/module_scope.hpp"

namespace amt::model {

ObjectDecoderImpl::ObjectDecoderImpl(int64_t d, const ObjectDecoderConfig& cfg, double dropout,
                                     double init_depth)
    : dropout_(dropout) {
  queries = register_parameter("queries", torch::zeros({cfg.queries, d}));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.layers; ++i) layers->push_back(DecoderLayer(d, cfg.heads, cfg.ff, dropout));
  pos0 = register_module("pos0", make_linear(d, cfg.head_hidden, true));
  pos1 = register_module("pos1", make_linear(cfg.head_hidden, 3, true));
  rot0 = register_module("rot0", make_linear(d, cfg.head_hidden, true));
  rot1 = register_module("rot1", make_linear(cfg.head_hidden, 6, true));
  conf = register_module("conf", make_linear(d, 1, true));
  cls = register_module("cls", make_linear(d, cfg.classes, true));
  anchor = register_parameter("anchor", torch::tensor({0.0, 0.0, init_depth}, torch::kFloat));
}

ObjectOutput ObjectDecoderImpl::forward(const torch::Tensor& memory_in,
                                        const precision::PrecisionPolicy& caller) {
  precision::ModuleScope scope(*this, caller);
  const precision::PrecisionPolicy& policy = scope.policy();
  const torch::Tensor memory = scope.input(memory_in);
  const bool train = is_training();
  const int64_t B = memory.size(0);
  torch::Tensor x = queries.unsqueeze(0).expand({B, -1, -1});
  for (const auto& layer : *layers) x = layer->as<DecoderLayer>()->forward(x, memory, policy);
  ObjectOutput out;
  out.features = scope.output(x);
  auto mlp = [&](torch::nn::Linear& a, torch::nn::Linear& b) {
    return b(torch::dropout(torch::relu(a(x)), dropout_, train));
  };
  out.positions = scope.output_geometric(precision::to_output(mlp(pos0, pos1), policy) +
                                         precision::to_output(anchor, policy));
  out.rotations = scope.output_geometric(precision::to_output(mlp(rot0, rot1), policy));
  out.confidence = scope.output_geometric(precision::to_output(torch::sigmoid(conf(x)).squeeze(-1), policy));
  out.class_logits = scope.output_geometric(precision::to_output(cls(x), policy));
  return out;
}

}  // namespace amt::model
