#include "reference/precision/islands.hpp"

#include <torch/nn/functional/upsampling.h>
#include <torch/nn/functional/vision.h>

#include "reference/core/error.hpp"
#include "reference/precision/faults.hpp"

namespace amt::precision {

namespace F = torch::nn::functional;

namespace {
const FaultRegistration kInterpFault{
    "island.position_interpolation_compute_dtype",
    "position table resampled in the parameter dtype, not upstream's fp32 (bf16 bicubic was wrong by relL2 "
    "0.04-0.1 on LibTorch 1.13; on 2.13 it rounds between its passes)"};
const FaultRegistration kProjectionNoCastFault{
    "island.projection_no_cast",
    "seed 002: the points arrive in the activation dtype (bf16 under bf16-pure) and meet the fp32 K in one "
    "matmul without a cast ('expected scalar type BFloat16 but found Float')"};
const FaultRegistration kProjectionDtypeFault{
    "island.projection_activation_dtype",
    "hazard 18 / upstream's committed fix: K and E cast down to the points' bf16, so the projection runs in "
    "bf16 under both bf16 policies (u,v quantised to 0.5-1 px at 100-300 px)"};
const FaultRegistration kGridSampleFault{
    "island.grid_sample_feature_dtype",
    "grid_sample run in the feature dtype: bf16-rounded sampling coordinates (LibTorch 1.13 had no bf16 CPU "
    "kernel and threw instead)"};
}  // namespace

torch::ScalarType island_dtype(Island island, const PrecisionPolicy& policy) {
  switch (island) {
    case Island::kPositionInterpolation:
      return torch::kFloat;  // upstream resamples in fp32 even in fp64 runs
    case Island::kMetric:
      return torch::kDouble;  // metrics accumulate in fp64 always
    default:
      return policy.island_dtype();
  }
}

torch::Tensor to_island(const torch::Tensor& x, Island island, const PrecisionPolicy& policy) {
  return x.to(island_dtype(island, policy));
}

torch::Tensor to_activation(const torch::Tensor& x, const PrecisionPolicy& policy) {
  return x.to(policy.activation_dtype());
}

torch::Tensor to_output(const torch::Tensor& x, const PrecisionPolicy& policy) {
  return x.to(policy.output_dtype());
}

torch::Tensor add_scaled_residual(const torch::Tensor& residual, const torch::Tensor& branch,
                                  const torch::Tensor& gain) {
  const torch::ScalarType dt = c10::promoteTypes(at::result_type(residual, branch), gain.scalar_type());
  return torch::addcmul(residual.to(dt), branch.to(dt), gain.to(dt));
}

torch::Tensor interpolate_position_table(const torch::Tensor& table, int64_t out_h, int64_t out_w,
                                         double scale_h, double scale_w) {
  if (table.dim() != 4) throw ShapeError("position table must be [1,C,M,M] for interpolation");
  IslandScope scope;
  const bool fault = kInterpFault.on();
  const torch::Tensor t = fault ? table : table.to(torch::kFloat);
  auto options = F::InterpolateFuncOptions().mode(torch::kBicubic).align_corners(false);
  if (scale_h > 0.0 && scale_w > 0.0) {
    // recompute_scale_factor(false): the kernel uses the given factors in its source-coordinate formula (as
    // upstream's meta mode does) and LibTorch does not print its "default behavior changed" warning.
    options.scale_factor(std::vector<double>{scale_h, scale_w}).recompute_scale_factor(false);
  } else {
    options.size(std::vector<int64_t>{out_h, out_w});
  }
  torch::Tensor out = F::interpolate(t, options);
  if (out.size(2) != out_h || out.size(3) != out_w) {
    throw ShapeError("position interpolation produced " + std::to_string(out.size(2)) + "x" +
                     std::to_string(out.size(3)) + " instead of " + std::to_string(out_h) + "x" +
                     std::to_string(out_w));
  }
  return out.to(torch::kFloat);
}

torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                         double eps, const PrecisionPolicy& policy) {
  const int64_t c = x.size(-1);
  IslandScope scope;
  const auto dt = island_dtype(Island::kLayerNorm, policy);
  const torch::Tensor y = torch::layer_norm(x.to(dt), {c}, weight.defined() ? weight.to(dt) : weight,
                                            bias.defined() ? bias.to(dt) : bias, eps);
  return y.to(x.scalar_type());
}

Projection project_points(const torch::Tensor& points, const torch::Tensor& K, const torch::Tensor& E,
                          const PrecisionPolicy& policy) {
  if (points.dim() != 3 || points.size(-1) != 3) throw ShapeError("project_points: points must be [B,N,3]");
  if (K.dim() != 3 || K.size(-1) != 3 || K.size(-2) != 3)
    throw ShapeError("project_points: K must be [B,3,3]");
  torch::Tensor p, k, e;
  const auto low = policy.compute_dtype();
  if (kProjectionNoCastFault.on()) {
    // Upstream before its fix: the points are activations and meet K in whatever dtype each arrives.
    p = to_activation(points, policy), k = K, e = E;
  } else if (kProjectionDtypeFault.on() && low == torch::kBFloat16) {
    // Upstream's fix: K (and E) cast to the points' dtype, bf16 under either bf16 policy.
    p = points.to(low), k = K.to(low), e = E.defined() ? E.to(low) : E;
  } else {
    const auto dt = island_dtype(Island::kCameraProjection, policy);
    p = points.to(dt), k = K.to(dt), e = E.defined() ? E.to(dt) : E;
  }
  IslandScope scope;
  torch::Tensor cam = p;
  if (e.defined()) {
    const torch::Tensor homo = torch::cat({p, torch::ones_like(p.narrow(-1, 0, 1))}, -1);
    cam = torch::matmul(homo, e.transpose(-1, -2)).narrow(-1, 0, 3);
  }
  const torch::Tensor uvw = torch::matmul(cam, k.transpose(-1, -2));
  const torch::Tensor depth = uvw.select(-1, 2);
  // Clamped only for the division: points at or behind the camera get finite, meaningless pixels
  // (islands.hpp); callers that need to know use `depth`.
  const torch::Tensor uv = uvw.narrow(-1, 0, 2) / depth.clamp_min(kMinProjectionDepth).unsqueeze(-1);
  const auto dt = island_dtype(Island::kCameraProjection, policy);
  return {uv.to(dt), cam.select(-1, 2).to(dt)};
}

torch::Tensor crop_ray_offset(const torch::Tensor& K, int64_t height, int64_t width, double box_m,
                              double anchor_depth, const PrecisionPolicy& policy) {
  if (K.dim() != 3 || K.size(-1) != 3 || K.size(-2) != 3)
    throw ShapeError("crop_ray_offset: K must be [B,3,3]");
  IslandScope scope;
  const torch::Tensor k = to_island(K, Island::kCameraProjection, policy);
  const torch::Tensor fx = k.select(1, 0).select(1, 0), fy = k.select(1, 1).select(1, 1);
  const torch::Tensor skew = k.select(1, 0).select(1, 1);
  const torch::Tensor cx = k.select(1, 0).select(1, 2), cy = k.select(1, 1).select(1, 2);
  const double uc = 0.5 * static_cast<double>(width - 1), vc = 0.5 * static_cast<double>(height - 1);
  const torch::Tensor z = (fx * fy).sqrt() * (box_m / std::sqrt(static_cast<double>(height * width)));
  const torch::Tensor y = (vc - cy) / fy * z;
  const torch::Tensor x = ((uc - cx) / fx - skew * (vc - cy) / (fx * fy)) * z;
  return to_output(torch::stack({x, y, z - anchor_depth}, 1), policy);
}

torch::Tensor grid_sample(const torch::Tensor& features, const torch::Tensor& grid,
                          const PrecisionPolicy& policy) {
  const auto options =
      F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false);
  if (kGridSampleFault.on()) {
    return F::grid_sample(features, grid.to(features.scalar_type()), options);
  }
  IslandScope scope;
  const auto dt = island_dtype(Island::kGridSample, policy);
  return F::grid_sample(features.to(dt), grid.to(dt), options).to(features.scalar_type());
}

}  // namespace amt::precision
