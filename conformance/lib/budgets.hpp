// The one budget table (as PyTorch's _DTYPE_PRECISIONS): every tolerance a property or golden uses, in task
// units, with the reason for its number. Tests and the harness cite a budget by (quantity, policy); no
// tolerance literal lives anywhere else. Reasons say what was measured (fp32 vs fp64, bf16 vs fp32, worst
// over the fuzz runs recorded in docs/conformance.md) and the factor applied. They quote the measurements each
// number was set from, on LibTorch 1.13 unless they name 2.13; every row was re-measured on 2.13 over the same
// 4,000 fuzz cases (docs/libtorch-upgrade.md: none needed a new limit, the tightest keeps 2.09x margin).
//
// Quantities (all "worst over the batch", larger is worse):
//   joints_mm           max Euclidean error of any 3-D joint (coarse, refined, every refinement step), mm
//   object_position_mm  max Euclidean error of any object position, mm
//   contact_point_mm    max Euclidean error of any contact point, mm
//   uv_px               max Euclidean error of the refined joints projected with the case's K, px
//   rotation_deg        max geodesic angle between object rotations (6-D → matrix), degrees, over the
//                       well-conditioned ones (outcome.hpp)
//   feature_rel_l2      relative L2 of a feature output (features/*)
//   feature_cos_deficit 1 − min cosine over the feature vectors of a feature output
//   head_rel_l2         relative L2 of the other head outputs (confidences, logits, types, forces, shape)
//   loss_rel            |Δ| / max(|reference|, 1e-3) of every loss term and the total
//   resize_k_px         a point's pixel after a resize vs the pixel-centre rule, px; resize_grid_coord its
//                       grid_sample coordinate before vs after
//   refinement_cell     a point at a cell centre vs the cell it samples, in cells
//   position_interp_rel_l2  DINOv2 position-table resampling vs the same resampling in fp64
//   batch_invariance_mm     an image's joints alone vs inside a batch of other images (max over joints)
//   golden_factor       the stored per-output golden tolerance = factor × measured fp32-vs-fp64 error
//   golden_floor        the smallest golden tolerance (absolute), for outputs whose fp32 equals fp64
#pragma once
#include <string>
#include <vector>

namespace amt::conformance {

struct Budget {
  std::string quantity;
  std::string policy;  // a policy name, or "any"
  double limit;
  std::string unit;
  std::string reason;
};

const std::vector<Budget>& budget_table();
// The row for (quantity, policy), falling back to (quantity, "any"); amt::ConfigError when there is none.
const Budget& budget(const std::string& quantity, const std::string& policy = "any");

}  // namespace amt::conformance
