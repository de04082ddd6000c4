// The common interface of the DINOv2 and DINOv3 backbones.
//
// Contract of Backbone::forward(pixels, policy):
//   - pixels [B,C,H,W] are already conformed (precision::conform_image): their dtype is the policy's
//   activation
//     dtype, and the parameters are in its parameter dtype (precision::apply_param_dtype). Anything else is
//     an amt::DtypeError: the backbone never casts its input or its weights (docs/design.md P1).
//   - H and W are any multiples of the patch size; otherwise amt::ShapeError stating the size and the patch.
//   - forward enters a precision::AutocastGuard itself, so bf16-autocast works whether or not the caller
//   already
//     enabled autocast (the guard nests and restores the previous state).
//   - outputs are after the final LayerNorm, in the residual stream's dtype: fp32 under fp32 and
//   bf16-autocast,
//     bf16 under bf16-pure, fp64 under fp64. Token order is row-major over the (Hp, Wp) patch grid.
#pragma once
#include <torch/nn/module.h>

#include <memory>
#include <string>

#include "reference/model/vit_config.hpp"
#include "reference/precision/policy.hpp"

namespace amt::model {

struct BackboneOutput {
  torch::Tensor cls;        // [B,D]
  torch::Tensor registers;  // [B,R,D]; R = 0 for a DINOv2 without registers
  torch::Tensor patch;      // [B,Hp·Wp,D], index = row·Wp + col
  torch::Tensor grid;       // [B,D,Hp,Wp], the same values as `patch`
  int64_t Hp = 0, Wp = 0;
};

class Backbone : public torch::nn::Module {
 public:
  explicit Backbone(VitConfig cfg);
  const VitConfig& config() const { return cfg_; }

  BackboneOutput forward(const torch::Tensor& pixels, const precision::PrecisionPolicy& policy);

  // The (Hp, Wp) patch grid for an H×W image; amt::ShapeError when H or W is not a positive multiple of the
  // patch.
  std::pair<int64_t, int64_t> patch_grid(int64_t H, int64_t W) const;

 protected:
  // [B,C,H,W] → all tokens [B, 1+R+Hp·Wp, D] after the final norm, in the order [CLS, registers, patches].
  virtual torch::Tensor forward_tokens(const torch::Tensor& pixels, int64_t hp, int64_t wp,
                                       const precision::PrecisionPolicy& policy) = 0;
  // A parameter whose dtype stands for the module's parameter dtype.
  virtual const torch::Tensor& dtype_witness() const = 0;

  VitConfig cfg_;
};

// A backbone with fp32 parameters and init_vit_weights(seed) applied.
std::shared_ptr<Backbone> make_backbone(const VitConfig& cfg, uint64_t seed = 0);

}  // namespace amt::model
