#include "reference/train/metrics.hpp"

#include "reference/precision/faults.hpp"

#include "reference/core/error.hpp"
#include "reference/precision/islands.hpp"

namespace amt::train {

namespace {
using precision::Island;

const FaultRegistration kMetricsBf16Fault{
    "train.metrics_bf16",
    "hazard: metrics computed on bf16 values (the validation loop under autocast): joint errors quantised by "
    "bf16's 2-4 mm ulp at 0.5-1 m"};

// Metrics are an island that is fp64 under every policy, so the policy passed here does not matter.
torch::Tensor f64(const torch::Tensor& x) {
  if (kMetricsBf16Fault.on()) return x.to(torch::kBFloat16).to(torch::kDouble).cpu();
  return precision::to_island(x, Island::kMetric, precision::PrecisionPolicy()).cpu();
}

void require_joints(const torch::Tensor& pred, const torch::Tensor& gt, const char* what) {
  if (pred.dim() != 3 || pred.size(-1) != 3 || pred.sizes() != gt.sizes()) {
    throw ShapeError(std::string(what) + ": pred and gt must both be [B,J,3]");
  }
}
}  // namespace

torch::Tensor joint_errors_mm(const torch::Tensor& pred, const torch::Tensor& gt) {
  require_joints(pred, gt, "joint_errors_mm");
  return (f64(pred) - f64(gt)).norm(2, -1) * 1000.0;
}

torch::Tensor mpjpe_mm(const torch::Tensor& pred, const torch::Tensor& gt) {
  return joint_errors_mm(pred, gt).mean(-1);
}

torch::Tensor procrustes_align(const torch::Tensor& pred, const torch::Tensor& gt, bool with_scale) {
  require_joints(pred, gt, "procrustes_align");
  precision::IslandScope scope;
  const torch::Tensor p = f64(pred), g = f64(gt);
  const torch::Tensor mp = p.mean(1, true), mg = g.mean(1, true);
  const torch::Tensor pc = p - mp, gc = g - mg;
  // Kabsch: H = Pcᵀ Gc = U S Vᵀ; the rotation taking pred to gt is R = V D Uᵀ with D fixing a reflection.
  const torch::Tensor H = torch::matmul(pc.transpose(1, 2), gc);
  auto [U, S, Vh] = torch::linalg_svd(H, false);
  const torch::Tensor V = Vh.transpose(1, 2);
  const torch::Tensor det = torch::linalg_det(torch::matmul(V, U.transpose(1, 2)));
  torch::Tensor D = torch::ones({p.size(0), 3}, p.options());
  D.select(1, 2).copy_(torch::sign(det));
  const torch::Tensor R = torch::matmul(V * D.unsqueeze(1), U.transpose(1, 2));
  torch::Tensor scale = torch::ones({p.size(0), 1, 1}, p.options());
  if (with_scale) {
    const torch::Tensor var = pc.pow(2).sum({1, 2});
    scale = ((S * D).sum(-1) / var.clamp_min(1e-30)).view({-1, 1, 1});
  }
  return scale * torch::matmul(pc, R.transpose(1, 2)) + mg;
}

torch::Tensor pa_mpjpe_mm(const torch::Tensor& pred, const torch::Tensor& gt, bool with_scale) {
  return mpjpe_mm(procrustes_align(pred, gt, with_scale), gt);
}

double pck(const torch::Tensor& errors_mm, double threshold_mm) {
  if (errors_mm.numel() == 0) return 0.0;
  return (f64(errors_mm) < threshold_mm).to(torch::kDouble).mean().item<double>();
}

double pck_auc(const torch::Tensor& errors_mm, double lo_mm, double hi_mm, int steps) {
  if (steps < 2 || !(hi_mm > lo_mm)) throw ConfigError("pck_auc needs steps >= 2 and hi > lo");
  double area = 0.0, prev = pck(errors_mm, lo_mm);
  const double dt = (hi_mm - lo_mm) / (steps - 1);
  for (int i = 1; i < steps; ++i) {
    const double cur = pck(errors_mm, lo_mm + dt * i);
    area += 0.5 * (prev + cur) * dt;
    prev = cur;
  }
  return area / (hi_mm - lo_mm);
}

torch::Tensor reprojection_errors_px(const torch::Tensor& pred, const torch::Tensor& gt,
                                     const torch::Tensor& K) {
  require_joints(pred, gt, "reprojection_errors_px");
  precision::IslandScope scope;
  const torch::Tensor k = f64(K).transpose(-1, -2);
  auto project = [&](const torch::Tensor& x) {
    const torch::Tensor h = torch::matmul(f64(x), k);
    return h.narrow(-1, 0, 2) / h.narrow(-1, 2, 1).clamp_min(0.1);
  };
  return (project(pred) - project(gt)).norm(2, -1);
}

torch::Tensor add_mm(const torch::Tensor& R_pred, const torch::Tensor& t_pred, const torch::Tensor& R_gt,
                     const torch::Tensor& t_gt, const torch::Tensor& points) {
  precision::IslandScope scope;
  const torch::Tensor x = f64(points);
  const torch::Tensor a = torch::matmul(x, f64(R_pred).transpose(-1, -2)) + f64(t_pred).unsqueeze(1);
  const torch::Tensor b = torch::matmul(x, f64(R_gt).transpose(-1, -2)) + f64(t_gt).unsqueeze(1);
  return (a - b).norm(2, -1).mean(-1) * 1000.0;
}

torch::Tensor add_s_mm(const torch::Tensor& R_pred, const torch::Tensor& t_pred, const torch::Tensor& R_gt,
                       const torch::Tensor& t_gt, const torch::Tensor& points) {
  precision::IslandScope scope;
  const torch::Tensor x = f64(points);
  const torch::Tensor a = torch::matmul(x, f64(R_pred).transpose(-1, -2)) + f64(t_pred).unsqueeze(1);
  const torch::Tensor b = torch::matmul(x, f64(R_gt).transpose(-1, -2)) + f64(t_gt).unsqueeze(1);
  // For every ground-truth point, the closest predicted point (symmetric objects).
  return std::get<0>(torch::cdist(b, a).min(-1)).mean(-1) * 1000.0;
}

void HandMetricAccumulator::add(const torch::Tensor& pred, const torch::Tensor& gt,
                                const torch::Tensor& valid, const torch::Tensor& K) {
  require_joints(pred, gt, "HandMetricAccumulator");
  if (valid.scalar_type() != torch::kBool || valid.dim() != 1 || valid.size(0) != pred.size(0)) {
    throw ShapeError("HandMetricAccumulator: valid must be a bool [B] mask");
  }
  const torch::Tensor idx = valid.cpu().nonzero().squeeze(1);
  if (idx.numel() == 0) return;
  const torch::Tensor p = f64(pred).index_select(0, idx), g = f64(gt).index_select(0, idx);
  joint_errors_.push_back(joint_errors_mm(p, g));
  mpjpe_.push_back(mpjpe_mm(p, g));
  rr_mpjpe_.push_back(mpjpe_mm(p - p.narrow(1, 0, 1), g - g.narrow(1, 0, 1)));
  root_.push_back((p.select(1, 0) - g.select(1, 0)).norm(2, -1) * 1000.0);
  pa_.push_back(pa_mpjpe_mm(p, g, false));
  pa_scaled_.push_back(pa_mpjpe_mm(p, g, true));
  if (K.defined()) errors_2d_.push_back(reprojection_errors_px(p, g, f64(K).index_select(0, idx)));
  frames_ += idx.numel();
}

std::map<std::string, double> HandMetricAccumulator::result() const {
  std::map<std::string, double> out{{"frames", static_cast<double>(frames_)}};
  if (frames_ == 0) return out;
  const torch::Tensor errors = torch::cat(joint_errors_);
  out["mpjpe_mm"] = torch::cat(mpjpe_).mean().item<double>();
  out["rr_mpjpe_mm"] = torch::cat(rr_mpjpe_).mean().item<double>();
  out["root_error_mm"] = torch::cat(root_).mean().item<double>();
  out["pa_mpjpe_mm"] = torch::cat(pa_).mean().item<double>();
  out["pa_mpjpe_scaled_mm"] = torch::cat(pa_scaled_).mean().item<double>();
  for (int t : {20, 30, 40, 50}) out["pck3d_" + std::to_string(t) + "mm"] = pck(errors, t);
  out["auc_20_50mm"] = pck_auc(errors, 20.0, 50.0);
  if (!errors_2d_.empty() && errors_2d_.size() == mpjpe_.size())
    out["pck2d_5px"] = pck(torch::cat(errors_2d_), 5.0);
  return out;
}

}  // namespace amt::train
