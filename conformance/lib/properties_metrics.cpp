// metrics: the validation metrics against their definitions in fp64, in mm.
//   metrics.fp64  MPJPE of fp32 predictions vs the fp64 definition; PA-MPJPE of a prediction that is an exact
//                 rigid (and, with scale, similarity) transform of the ground truth is 0; PCK/AUC of the
//                 errors agree with the errors themselves.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "conformance/lib/budgets.hpp"
#include "conformance/lib/gen_util.hpp"
#include "reference/train/metrics.hpp"
#include "reference/train/rotation.hpp"

namespace amt::conformance {

namespace {
rc::Gen<Case> gen_metrics(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.property = "metrics.fp64";
    c.config = o.config;
    c.batch = *rc::gen::inRange<int64_t>(1, 9);
    c.seed = draw_seed();
    return c;
  });
}

Outcome run_metrics(const Case& c) {
  Outcome o;
  at::Generator gen = at::detail::createCPUGenerator(c.seed);
  const int64_t B = c.batch;
  torch::Tensor gt = torch::randn({B, 21, 3}, gen, torch::kDouble) * 0.05;
  gt.select(2, 2).add_(0.6);
  // Predictions as the model gives them: fp32, within centimetres of the truth.
  const torch::Tensor pred = (gt + 0.01 * torch::randn({B, 21, 3}, gen, torch::kDouble)).to(torch::kFloat);
  const torch::Tensor gt32 = gt.to(torch::kFloat);
  const torch::Tensor want =
      (pred.to(torch::kDouble) - gt32.to(torch::kDouble)).norm(2, -1).mean(-1) * 1000.0;
  const Measure m = point_error(train::mpjpe_mm(pred, gt32).unsqueeze(-1), want.unsqueeze(-1), 1.0);
  o.budget_check("MPJPE vs its fp64 definition", "metric_mm", "any", m.value, m.detail);
  // A rigid motion of the truth aligns back exactly (PA-MPJPE 0); a similarity only with scale.
  const torch::Tensor r6 = torch::randn({B, 6}, gen, torch::kDouble);
  const torch::Tensor R = train::rotation_6d_to_matrix(r6);
  const torch::Tensor t = 0.1 * torch::randn({B, 1, 3}, gen, torch::kDouble);
  const torch::Tensor rigid = torch::matmul(gt, R.transpose(1, 2)) + t;
  const double scale = 0.8 + 0.4 * torch::rand({1}, gen, torch::kDouble).item<double>();
  const torch::Tensor similar = scale * torch::matmul(gt, R.transpose(1, 2)) + t;
  const double pa = train::pa_mpjpe_mm(rigid, gt, false).abs().max().item<double>();
  const double pas = train::pa_mpjpe_mm(similar, gt, true).abs().max().item<double>();
  o.budget_check("PA-MPJPE of a rigid motion of the truth", "metric_mm", "any", pa);
  o.budget_check("PA-MPJPE (with scale) of a similarity of the truth", "metric_mm", "any", pas);
  // Without scale alignment a scaled copy keeps an error: the scale is not silently applied.
  const double unscaled = train::pa_mpjpe_mm(similar, gt, false).min().item<double>();
  o.require(std::abs(scale - 1.0) < 0.01 || unscaled > budget("pa_scale_kept_mm").limit,
            "PA-MPJPE without scale keeps the scale error", "exact",
            "scale " + std::to_string(scale) + " gave " + std::to_string(unscaled) + " mm");
  // PCK at a threshold is the fraction of joint errors below it.
  const torch::Tensor errors = train::joint_errors_mm(pred, gt32);
  const double th = 10.0 + 20.0 * torch::rand({1}, gen, torch::kDouble).item<double>();
  const double frac = (errors < th).to(torch::kDouble).mean().item<double>();
  o.budget_check("PCK is the fraction below the threshold", "pck_fraction", "any",
                 std::abs(train::pck(errors, th) - frac),
                 "pck " + std::to_string(train::pck(errors, th)) + " vs " + std::to_string(frac));
  return o;
}
}  // namespace

std::vector<Property> metrics_properties() {
  return {
      {"metrics.fp64",
       "metrics",
       "MPJPE vs its fp64 definition, PA-MPJPE of rigid / similarity motions of the truth is 0, PCK is the "
       "fraction of errors below the threshold",
       {"metric_mm", "pck_fraction", "pa_scale_kept_mm", "exact"},
       {{"train.metrics_bf16", "metric_mm@any"}},
       40,
       gen_metrics,
       run_metrics}};
}

}  // namespace amt::conformance
