#include "reference/model/backbone.hpp"

#include <torch/torch.h>

#include "reference/core/error.hpp"
#include "reference/model/dinov2.hpp"
#include "reference/model/dinov3.hpp"
#include "reference/precision/autocast_guard.hpp"
#include "reference/precision/module_scope.hpp"
#include "reference/precision/plan.hpp"

namespace amt::model {

Backbone::Backbone(VitConfig cfg) : cfg_(std::move(cfg)) {
  validate(cfg_);
}

std::pair<int64_t, int64_t> Backbone::patch_grid(int64_t H, int64_t W) const {
  const int64_t p = cfg_.patch_size;
  auto check = [&](const char* side, int64_t n) {
    if (n <= 0 || n % p != 0) {
      throw ShapeError(std::string("input image ") + side + " " + std::to_string(n) +
                       " is not a positive multiple of the patch size " + std::to_string(p) + " (" +
                       backbone_kind_name(cfg_.kind) + ")");
    }
  };
  check("height", H);
  check("width", W);
  return {H / p, W / p};
}

BackboneOutput Backbone::forward(const torch::Tensor& pixels_in, const precision::PrecisionPolicy& caller) {
  if (pixels_in.dim() != 4 || pixels_in.size(1) != cfg_.num_channels) {
    throw ShapeError("backbone input must be [B," + std::to_string(cfg_.num_channels) + ",H,W], got " +
                     c10::str(pixels_in.sizes()));
  }
  precision::ModuleScope scope(*this, caller);
  const precision::PrecisionPolicy& policy = scope.policy();
  const torch::Tensor pixels = scope.input(pixels_in);
  const auto [hp, wp] = patch_grid(pixels.size(2), pixels.size(3));
  if (pixels.scalar_type() != policy.activation_dtype()) {
    throw DtypeError("backbone input is " + std::string(c10::toString(pixels.scalar_type())) +
                     " but policy " + policy.name() + " runs on " + c10::toString(policy.activation_dtype()) +
                     " activations; pass images through precision::conform_image first");
  }
  // Under a PrecisionPlan parameters differ by module on purpose (precision::apply_param_dtype(root, plan)).
  if (!precision::plan_active() && dtype_witness().scalar_type() != policy.param_dtype()) {
    throw DtypeError("backbone parameters are " + std::string(c10::toString(dtype_witness().scalar_type())) +
                     " but policy " + policy.name() + " expects " + c10::toString(policy.param_dtype()) +
                     "; call precision::apply_param_dtype(backbone, policy) first");
  }
  precision::AutocastGuard autocast(policy);
  const torch::Tensor x = scope.output(forward_tokens(pixels, hp, wp, policy));

  BackboneOutput out;
  const int64_t b = x.size(0), d = x.size(2), r = cfg_.num_register_tokens;
  out.Hp = hp;
  out.Wp = wp;
  out.cls = x.select(1, 0);
  out.registers = x.narrow(1, 1, r);
  out.patch = x.narrow(1, 1 + r, hp * wp);
  out.grid = out.patch.transpose(1, 2).reshape({b, d, hp, wp});
  return out;
}

std::shared_ptr<Backbone> make_backbone(const VitConfig& cfg, uint64_t seed) {
  std::shared_ptr<Backbone> model;
  if (cfg.kind == BackboneKind::kDinov2) {
    model = std::make_shared<Dinov2>(cfg);
  } else {
    model = std::make_shared<Dinov3>(cfg);
  }
  init_vit_weights(*model, cfg, seed);
  return model;
}

}  // namespace amt::model
