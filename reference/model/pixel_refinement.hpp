// Pixel-aligned refinement (docs/upstream.md A1.9, with upstream's normalisation bug fixed):
// a conv feature stack over the patch grid, then S steps of
//   project with K (and E)                 precision::project_points      (camera-projection island)
//   normalise by the size of the image K describes, x_n = (2u+1)/W − 1     vision::pixel_to_normalized
//   sample the feature map                 precision::grid_sample          (grid-sample island)
//   point encoding, MLP → offset,  P ← P + 0.5^s · offset.
// Points with depth ≤ min_depth sample zeros. Upstream divides u, v by the *feature-map* size (16) while K is
// in 640×480 pixels, so every point samples the bottom-right cell; see docs/deviations.md.
//
// Normalisation in the conv stack: a per-pixel LayerNorm over channels (through precision::layer_norm), not
// upstream's BatchNorm2d: BatchNorm in train mode mixes the images of a batch (V4 batch invariance) and
// updates running statistics twice per step; the per-pixel LayerNorm has neither problem.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "reference/model/amt_config.hpp"
#include "reference/model/layers.hpp"
#include "reference/model/sigma_linear.hpp"
#include "reference/precision/policy.hpp"
#include "reference/vision/image_size.hpp"

namespace amt::model {

// Features [B,C,Hf,Wf] (any grid covering the image) sampled at the projections of points [B,N,3] (output
// dtype) into an image of `image_size` with K [B,3,3] (and E [B,4,4] or undefined) → [B,N,C] in the features'
// dtype; zeros where depth ≤ min_depth.
torch::Tensor sample_at_points(const torch::Tensor& features, const torch::Tensor& points,
                               const torch::Tensor& K, const torch::Tensor& E, vision::ImageSize image_size,
                               double min_depth, const precision::PrecisionPolicy& policy);

struct RefinementOutput {
  torch::Tensor points;              // [B,N,3] refined, output dtype
  torch::Tensor confidence;          // [B,N] mean over steps, output dtype
  std::vector<torch::Tensor> steps;  // the points after each step (probes); steps.back() is `points`
};

// One refinement step: SL(2F+3→H)·LN·ReLU·Drop·SL(H→H)·LN·ReLU, then an offset Linear(H→3) and a
// confidence Linear(H→1). A view over the step's entry in each of PixelRefinement's lists (their keys,
// refinement.step_in.<s>..., are the checkpoint layout, and their order the order the heads are initialised
// in, which the goldens were generated with).
struct RefinementStep {
  SigmaLinear input, mid;
  LayerNorm norm_a, norm_b;
  torch::nn::Linear offset, confidence;
  struct Output {
    torch::Tensor offset;      // [B,N,3] activation dtype
    torch::Tensor confidence;  // [B,N] in (0, 1)
  };
  // `c`: [B,N,2F+3] point encoding, sampled features and the points.
  Output forward(const torch::Tensor& c, double dropout, bool train,
                 const precision::PrecisionPolicy& policy);
};

class PixelRefinementImpl : public torch::nn::Module {
 public:
  PixelRefinementImpl(int64_t dim, const RefinementConfig& cfg, double dropout);
  // points [B,N,3] output dtype; grid [B,D,Hp,Wp] compute dtype.
  RefinementOutput forward(const torch::Tensor& points, const torch::Tensor& grid, const torch::Tensor& K,
                           const torch::Tensor& E, vision::ImageSize image_size,
                           const precision::PrecisionPolicy& policy);
  // The conv stack alone: [B,D,Hp,Wp] → [B,F,Hp,Wp].
  torch::Tensor features(const torch::Tensor& grid, const precision::PrecisionPolicy& policy);
  // Step s (0 ≤ s < steps).
  RefinementStep step(int64_t s) const;

  torch::nn::Conv2d conv0{nullptr}, conv1{nullptr}, conv2{nullptr}, final_proj{nullptr};
  LayerNorm norm0{nullptr}, norm1{nullptr}, norm2{nullptr};
  SigmaLinear point0{nullptr}, point1{nullptr}, point2{nullptr};
  // Step s's modules are entry s of each list (RefinementStep).
  torch::nn::ModuleList step_in{nullptr}, step_mid{nullptr}, step_norm_a{nullptr}, step_norm_b{nullptr},
      offset{nullptr}, confidence{nullptr};

 private:
  torch::Tensor norm2d(LayerNorm& norm, const torch::Tensor& x, const precision::PrecisionPolicy& policy);
  RefinementConfig cfg_;
  double dropout_;
};
TORCH_MODULE(PixelRefinement);

}  // namespace amt::model
