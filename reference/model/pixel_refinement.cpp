#include "reference/model/pixel_refinement.hpp"

#include <torch/torch.h>

#include <cmath>

#include "reference/core/error.hpp"
#include "reference/precision/faults.hpp"
#include "reference/precision/islands.hpp"
#include "reference/precision/module_scope.hpp"
#include "reference/vision/camera_rescale.hpp"

namespace amt::model {

namespace {
const FaultRegistration kFeatureMapNormFault{
    "model.refinement_normalise_by_feature_map",
    "upstream AMT's pixel-aligned refinement: u, v divided by the feature map's size (16) while K is in "
    "image "
    "pixels, so every point samples the bottom-right cell (docs/upstream.md A1.9)"};
const FaultRegistration kDefaultDtypeFault{
    "model.default_dtype_tensor",
    "hazard: a tensor created without a dtype (torch::zeros(sizes), default fp32) in a bf16 path: the "
    "behind-camera zeros promote the sampled features to fp32 and the next bf16 Linear throws"};
}  // namespace

torch::Tensor sample_at_points(const torch::Tensor& features, const torch::Tensor& points,
                               const torch::Tensor& K, const torch::Tensor& E, vision::ImageSize image_size,
                               double min_depth, const precision::PrecisionPolicy& policy) {
  if (features.dim() != 4) throw ShapeError("sample_at_points: features must be [B,C,H,W]");
  const precision::Projection proj = precision::project_points(points, K, E, policy);
  torch::Tensor xy;
  {
    precision::IslandScope island;  // the grid normalisation belongs to the camera-projection island
    const vision::ImageSize fmap_size{features.size(2), features.size(3)};
    xy = vision::pixel_to_normalized(proj.uv, kFeatureMapNormFault.on() ? fmap_size : image_size);
  }
  // [B,C,N,1] → [B,N,C]
  const torch::Tensor sampled =
      precision::grid_sample(features, xy.unsqueeze(2), policy).squeeze(-1).transpose(1, 2);
  const torch::Tensor in_front = (proj.depth > min_depth).unsqueeze(-1);
  const torch::Tensor zeros =
      kDefaultDtypeFault.on() ? torch::zeros(sampled.sizes(), torch::TensorOptions().device(sampled.device()))
                              : torch::zeros_like(sampled);
  return torch::where(in_front, sampled, zeros);
}

PixelRefinementImpl::PixelRefinementImpl(int64_t d, const RefinementConfig& cfg, double dropout)
    : cfg_(cfg), dropout_(dropout) {
  const int64_t f = cfg.feature_dim, h = cfg.hidden;
  auto conv = [](int64_t in, int64_t out, int64_t k) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).padding(k / 2));
  };
  conv0 = register_module("conv0", conv(d, f, 3));
  conv1 = register_module("conv1", conv(f, f, 3));
  conv2 = register_module("conv2", conv(f, f, 3));
  final_proj = register_module("final_proj", conv(f, f, 1));
  norm0 = register_module("norm0", LayerNorm(f, 1e-5));
  norm1 = register_module("norm1", LayerNorm(f, 1e-5));
  norm2 = register_module("norm2", LayerNorm(f, 1e-5));
  point0 = register_module("point0", SigmaLinear(3, 64));
  point1 = register_module("point1", SigmaLinear(64, 128));
  point2 = register_module("point2", SigmaLinear(128, f));
  step_in = register_module("step_in", torch::nn::ModuleList());
  step_mid = register_module("step_mid", torch::nn::ModuleList());
  step_norm_a = register_module("step_norm_a", torch::nn::ModuleList());
  step_norm_b = register_module("step_norm_b", torch::nn::ModuleList());
  offset = register_module("offset", torch::nn::ModuleList());
  confidence = register_module("confidence", torch::nn::ModuleList());
  for (int64_t s = 0; s < cfg.steps; ++s) {
    step_in->push_back(SigmaLinear(2 * f + 3, h));
    step_mid->push_back(SigmaLinear(h, h));
    step_norm_a->push_back(LayerNorm(h, 1e-5));
    step_norm_b->push_back(LayerNorm(h, 1e-5));
    offset->push_back(make_linear(h, 3, true));
    confidence->push_back(make_linear(h, 1, true));
  }
}

RefinementStep::Output RefinementStep::forward(const torch::Tensor& c, double dropout, bool train,
                                               const precision::PrecisionPolicy& policy) {
  torch::Tensor hdn = norm_a->forward(input->forward(c), policy);
  hdn = torch::dropout(torch::relu(hdn), dropout, train);
  hdn = torch::relu(norm_b->forward(mid->forward(hdn), policy));
  return {offset->forward(hdn), torch::sigmoid(confidence->forward(hdn)).squeeze(-1)};
}

RefinementStep PixelRefinementImpl::step(int64_t s) const {
  const auto i = static_cast<size_t>(s);
  return {SigmaLinear(step_in->ptr<SigmaLinearImpl>(i)),
          SigmaLinear(step_mid->ptr<SigmaLinearImpl>(i)),
          LayerNorm(step_norm_a->ptr<LayerNormImpl>(i)),
          LayerNorm(step_norm_b->ptr<LayerNormImpl>(i)),
          torch::nn::Linear(offset->ptr<torch::nn::LinearImpl>(i)),
          torch::nn::Linear(confidence->ptr<torch::nn::LinearImpl>(i))};
}

torch::Tensor PixelRefinementImpl::norm2d(LayerNorm& norm, const torch::Tensor& x,
                                          const precision::PrecisionPolicy& policy) {
  return norm->forward(x.permute({0, 2, 3, 1}), policy).permute({0, 3, 1, 2});
}

torch::Tensor PixelRefinementImpl::features(const torch::Tensor& grid,
                                            const precision::PrecisionPolicy& policy) {
  torch::Tensor x = torch::relu(norm2d(norm0, conv0(grid), policy));
  x = torch::relu(norm2d(norm1, conv1(x), policy)) + x;  // upstream: residual on the second conv only
  x = torch::relu(norm2d(norm2, conv2(x), policy));
  return final_proj(x);
}

RefinementOutput PixelRefinementImpl::forward(const torch::Tensor& points, const torch::Tensor& grid,
                                              const torch::Tensor& K, const torch::Tensor& E,
                                              vision::ImageSize image_size,
                                              const precision::PrecisionPolicy& caller) {
  precision::ModuleScope scope(*this, caller);
  const precision::PrecisionPolicy& policy = scope.policy();
  const bool train = is_training();
  const torch::Tensor fmap = features(scope.input(grid), policy);
  torch::Tensor p = scope.input(points);
  torch::Tensor conf_sum;
  RefinementOutput out;
  for (int64_t s = 0; s < cfg_.steps; ++s) {
    const torch::Tensor feat = sample_at_points(fmap, p, K, E, image_size, cfg_.min_depth, policy);
    const torch::Tensor p_act = precision::to_activation(p, policy);
    const torch::Tensor enc = point2(torch::relu(point1(torch::relu(point0(p_act)))));
    const torch::Tensor c = torch::cat({enc, feat, p_act}, -1);
    const RefinementStep::Output o = step(s).forward(c, dropout_, train, policy);
    conf_sum = conf_sum.defined() ? conf_sum + o.confidence : o.confidence;
    p = p + std::pow(0.5, static_cast<double>(s)) * precision::to_output(o.offset, policy);
    out.steps.push_back(p);
  }
  out.points = scope.output_geometric(p);
  out.confidence = scope.output_geometric(
      cfg_.steps > 0 ? precision::to_output(conf_sum / static_cast<double>(cfg_.steps), policy)
                     : precision::to_output(torch::ones_like(p.select(-1, 0)), policy));
  return out;
}

}  // namespace amt::model
