// Evaluation metrics (docs/design.md §2). Everything is computed and accumulated in float64 (the metric
// island), whatever the input dtypes; units are in the names (joints arrive in metres, results come out in mm
// or px).
#pragma once
#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

namespace amt::train {

// Per-frame mean joint error in mm: pred, gt [B,J,3] in metres → [B] float64.
torch::Tensor mpjpe_mm(const torch::Tensor& pred, const torch::Tensor& gt);

// Procrustes alignment of pred onto gt per frame (rotation + translation, and scale when with_scale):
// returns the aligned pred [B,J,3] float64. Reflections are excluded (det R = +1).
torch::Tensor procrustes_align(const torch::Tensor& pred, const torch::Tensor& gt, bool with_scale);

// Per-frame PA-MPJPE in mm [B] float64.
torch::Tensor pa_mpjpe_mm(const torch::Tensor& pred, const torch::Tensor& gt, bool with_scale);

// Per-joint errors in mm [B,J] float64.
torch::Tensor joint_errors_mm(const torch::Tensor& pred, const torch::Tensor& gt);

// Fraction of joint errors (any shape, mm) below threshold_mm.
double pck(const torch::Tensor& errors_mm, double threshold_mm);

// Area under the PCK curve between lo_mm and hi_mm (trapezoid over `steps` evenly spaced thresholds,
// normalised by the range, so a perfect prediction gives 1).
double pck_auc(const torch::Tensor& errors_mm, double lo_mm, double hi_mm, int steps = 100);

// 2-D reprojection errors in px [B,J] of pred and gt joints projected with K [B,3,3] (depth clamped at 0.1 m,
// as upstream validates).
torch::Tensor reprojection_errors_px(const torch::Tensor& pred, const torch::Tensor& gt,
                                     const torch::Tensor& K);

// ADD / ADD-S in mm for object poses (R [B,3,3], t [B,3] in metres) over model points [P,3] (metres).
torch::Tensor add_mm(const torch::Tensor& R_pred, const torch::Tensor& t_pred, const torch::Tensor& R_gt,
                     const torch::Tensor& t_gt, const torch::Tensor& points);
torch::Tensor add_s_mm(const torch::Tensor& R_pred, const torch::Tensor& t_pred, const torch::Tensor& R_gt,
                       const torch::Tensor& t_gt, const torch::Tensor& points);

// Accumulates hand metrics over batches, skipping frames whose `valid` entry is false (no-hand frames).
class HandMetricAccumulator {
 public:
  // pred, gt [B,21,3] metres; valid [B] bool; K [B,3,3] (may be undefined: no 2-D metric).
  void add(const torch::Tensor& pred, const torch::Tensor& gt, const torch::Tensor& valid,
           const torch::Tensor& K);
  int64_t frames() const { return frames_; }
  // Keys: mpjpe_mm, rr_mpjpe_mm (root-relative: both poses moved so their wrists, joint 0, coincide — what
  // DexYCB tables report), root_error_mm (the wrist's distance), pa_mpjpe_mm, pa_mpjpe_scaled_mm,
  // pck3d_20mm, pck3d_30mm, pck3d_40mm, pck3d_50mm, auc_20_50mm, pck2d_5px (when K was given), frames. Empty
  // accumulator → only frames = 0.
  std::map<std::string, double> result() const;

 private:
  std::vector<torch::Tensor> joint_errors_, mpjpe_, rr_mpjpe_, root_, pa_, pa_scaled_, errors_2d_;
  int64_t frames_ = 0;
};

}  // namespace amt::train
