// Hand head: CLS → 21 joints in metres (camera frame), per-joint confidence and 10 shape parameters.
// Upstream's image path (docs/upstream.md A1.4); the vertex path is dead upstream and not built.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "reference/model/amt_config.hpp"
#include "reference/model/layers.hpp"
#include "reference/model/sigma_linear.hpp"
#include "reference/precision/policy.hpp"

namespace amt::model {

struct HandOutput {
  torch::Tensor joints;      // [B,21,3] metres, output dtype (P5)
  torch::Tensor confidence;  // [B,21] in (0,1), output dtype
  torch::Tensor shape;       // [B,10], output dtype
  torch::Tensor features;    // [B,D], compute dtype
};

class HandHeadImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kJoints = 21;
  HandHeadImpl(int64_t dim, const HandHeadConfig& cfg, double dropout);
  HandOutput forward(const torch::Tensor& cls, const precision::PrecisionPolicy& policy);

  SigmaLinear enc0{nullptr}, enc1{nullptr};  // joint_encoder_from_image {0, 4}
  LayerNorm enc_norm{nullptr};
  SigmaLinear div0{nullptr}, div1{nullptr};  // diversity_proj
  torch::nn::Linear joint0{nullptr}, joint1{nullptr}, conf0{nullptr}, conf1{nullptr}, shape0{nullptr},
      shape1{nullptr};
  // [21,3] metres. The joint head predicts a residual around this anchor, added in the output dtype, so the
  // bf16 matmul only rounds the (small) residual, not a 0.6 m depth (bf16 ulp there is 3.9 mm).
  torch::Tensor anchor;

 private:
  double dropout_;
};
TORCH_MODULE(HandHead);

}  // namespace amt::model
