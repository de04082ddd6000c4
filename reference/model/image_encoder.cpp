#include "reference/model/image_encoder.hpp"

#include <torch/torch.h>

#include "reference/precision/module_scope.hpp"

namespace amt::model {

ImageEncoderImpl::ImageEncoderImpl(std::shared_ptr<Backbone> bb, double dropout) : dropout_(dropout) {
  const int64_t d = bb->config().hidden_size;
  backbone = register_module("backbone", std::move(bb));
  task_embedding = register_parameter("task_embedding", torch::zeros({1, 1, d}));
  proj = register_module("proj", SigmaLinear(d, d));
  proj_norm = register_module("proj_norm", LayerNorm(d, 1e-5));
}

torch::Tensor ImageEncoderImpl::project(const torch::Tensor& x, const precision::PrecisionPolicy& policy) {
  const torch::Tensor y = torch::gelu(proj_norm->forward(proj(x), policy));
  return torch::dropout(y, dropout_, is_training());
}

EncoderOutput ImageEncoderImpl::forward(const torch::Tensor& pixels,
                                        const precision::PrecisionPolicy& caller) {
  precision::ModuleScope scope(*this, caller);
  const precision::PrecisionPolicy& policy = scope.policy();
  const BackboneOutput b = backbone->forward(scope.input(pixels), policy);
  EncoderOutput out;
  out.Hp = b.Hp;
  out.Wp = b.Wp;
  out.backbone_cls = b.cls;
  out.backbone_patch = b.patch;
  const torch::Tensor bias = 0.1 * task_embedding;
  out.cls = scope.output(project(b.cls + bias.squeeze(0), policy));
  out.patch = scope.output(project(b.patch + bias, policy));
  out.grid = out.patch.view({out.patch.size(0), b.Hp, b.Wp, out.patch.size(2)}).permute({0, 3, 1, 2});
  return out;
}

}  // namespace amt::model
