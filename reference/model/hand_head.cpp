#include "reference/model/hand_head.hpp"

#include <torch/torch.h>

#include "reference/precision/islands.hpp"
#include "reference/precision/module_scope.hpp"

namespace amt::model {

HandHeadImpl::HandHeadImpl(int64_t d, const HandHeadConfig& cfg, double dropout) : dropout_(dropout) {
  enc0 = register_module("enc0", SigmaLinear(d, d));
  enc_norm = register_module("enc_norm", LayerNorm(d, 1e-5));
  enc1 = register_module("enc1", SigmaLinear(d, d));
  div0 = register_module("div0", SigmaLinear(d, d / 4));
  div1 = register_module("div1", SigmaLinear(d / 4, d));
  joint0 = register_module("joint0", make_linear(d, cfg.hidden, true));
  joint1 = register_module("joint1", make_linear(cfg.hidden, kJoints * 3, true));
  conf0 = register_module("conf0", make_linear(d, cfg.aux_hidden, true));
  conf1 = register_module("conf1", make_linear(cfg.aux_hidden, kJoints, true));
  shape0 = register_module("shape0", make_linear(d, cfg.aux_hidden, true));
  shape1 = register_module("shape1", make_linear(cfg.aux_hidden, 10, true));
  torch::Tensor a = torch::zeros({kJoints, 3});
  a.select(1, 2).fill_(cfg.init_depth);
  anchor = register_parameter("anchor", a);
}

HandOutput HandHeadImpl::forward(const torch::Tensor& cls_in, const precision::PrecisionPolicy& caller) {
  precision::ModuleScope scope(*this, caller);
  const precision::PrecisionPolicy& policy = scope.policy();
  const torch::Tensor cls = scope.input(cls_in);
  const bool train = is_training();
  const int64_t B = cls.size(0);
  torch::Tensor f0 = torch::relu(enc0(cls));
  f0 = enc1(torch::dropout(enc_norm->forward(f0, policy), dropout_, train));
  const torch::Tensor f = f0 + 0.1 * div1(torch::tanh(div0(f0))) + 0.1 * cls;
  HandOutput out;
  out.features = scope.output(f);
  const torch::Tensor residual =
      joint1(torch::dropout(torch::relu(joint0(f)), dropout_, train)).view({B, kJoints, 3});
  out.joints =
      scope.output_geometric(precision::to_output(residual, policy) + precision::to_output(anchor, policy));
  out.confidence =
      scope.output_geometric(precision::to_output(torch::sigmoid(conf1(torch::relu(conf0(f)))), policy));
  out.shape = scope.output_geometric(precision::to_output(shape1(torch::relu(shape0(f))), policy));
  return out;
}

}  // namespace amt::model
