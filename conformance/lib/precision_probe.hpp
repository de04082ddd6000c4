// Precision diagnosis by module name (docs/design.md §6): a per-module error ledger of a policy against fp64,
// and the task-unit errors of the model's outputs. The ledger watches every module that opens a
// precision::ModuleScope, in execution order:
//   rel_l2        its output under the plan vs under fp64 (relative L2, worst of its outputs)
//   min_cos       the smallest cosine between output vectors (last dim) under the plan and under fp64
//   added_rel_l2  its output error when it is fed the fp64 run's inputs (teacher forcing), so a row shows
//                 what the module itself introduces rather than what it inherits
// Teacher forcing is exact per row: one run per nesting depth substitutes the inputs of every module at that
// depth (modules at one depth are disjoint), while the modules inside run on.
#pragma once
#include <torch/types.h>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "reference/core/tensor_map.hpp"
#include "reference/model/amt_model.hpp"
#include "reference/precision/plan.hpp"

namespace amt::conformance {

// What probe and islands run on: a model (config + full-model weights, or a seed) and a batch (a forward
// batch file, or a generated rectangular batch).
struct ProbeSubject {
  model::AmtConfig config;
  std::string weights;  // empty: deterministic random weights from `seed`
  uint64_t seed = 0;
  TensorMap batch;           // image [B,3,H,W], K [B,3,3], optional E
  std::string batch_source;  // the input file, or "generated 2x3x70x98 seed 0"
};
// `input` empty: a generated batch of two images, 5 × 7 patches, u8, seed `seed` (conformance
// make_case_batch).
ProbeSubject make_probe_subject(const std::string& config, const std::string& weights, uint64_t seed,
                                const std::string& input);

// One model whose parameters are re-set from the subject's fp32 weights for each plan, so a search's many
// trials cost a forward each, not a model construction.
class PlanRunner {
 public:
  explicit PlanRunner(const ProbeSubject& subject);
  // conform_batch → AmtModel::forward under `plan` (eval, no gradients).
  TensorMap run(const precision::PrecisionPlan& plan);
  const ProbeSubject& subject() const { return subject_; }
  int64_t runs() const { return runs_; }

 private:
  ProbeSubject subject_;
  model::AmtModel model_{nullptr};
  std::vector<torch::Tensor> master_;  // fp32 copies of parameters() then buffers(), in that order
  int64_t runs_ = 0;
};

// Task-unit error of one model output against a reference run of the same case.
struct TaskError {
  std::string output;  // hand_joints, hand_joints_coarse, hand_joints_uv, object_positions, contact_points,
                       // object_rotations
  std::string unit;    // mm, px, deg
  double max = 0.0;    // worst point (Euclidean distance) or rotation (geodesic angle, well-conditioned ones)
};
// The outputs task_errors measures, with their units, in report order.
const std::vector<std::pair<std::string, std::string>>& task_outputs();
std::vector<TaskError> task_errors(const TensorMap& actual, const TensorMap& reference,
                                   const TensorMap& batch);

struct LedgerRow {
  std::string module;  // module path; "#<call>" appended from a module's second call on
  int depth = 0;       // number of watched modules enclosing it
  std::string dtype;   // its first output's dtype under the plan
  double rel_l2 = 0.0, min_cos = 1.0, added_rel_l2 = 0.0;
};

struct Ledger {
  std::string plan;  // PrecisionPlan::name()
  std::string config, batch_source;
  std::vector<LedgerRow> rows;  // execution order
  std::vector<TaskError> task;  // vs fp64
  int64_t runs = 0;             // forwards it took
};

// Runs the subject under fp64, under `plan`, and under `plan` with teacher forcing at each depth.
Ledger probe_ledger(PlanRunner& runner, const precision::PrecisionPlan& plan);
// The module paths of a ledger ordered by added error, largest first (ties keep execution order).
std::vector<std::string> ranked_modules(const Ledger& ledger);

// How a module's added error compares with a baseline ledger of the same case and plan (a fault-free run of
// this build, or a stored `probe --json` of a known-good one). A module's added error holds everything inside
// it, and a change early in the network is amplified downstream, so the ratio alone would blame the outer
// modules; the module to blame is the innermost one whose added error changed: changed itself, nothing
// watched inside it changed.
struct Growth {
  std::string module;
  int depth = 0;
  double baseline_added = 0.0, added = 0.0;
  double ratio = 1.0;      // (added + 1e-9) / (baseline_added + 1e-9): the floor keeps exact zeros comparable
  bool changed = false;    // |ratio - 1| > kGrowthChangeTolerance
  bool innermost = false;  // changed, and no module inside it changed
};
// Unaffected modules move by up to ~0.2 % when a fault also shifts the fp64 reference (measured on tiny:
// 0.16 % at most), a fault in a module moves its own added error by 5 % and more.
inline constexpr double kGrowthChangeTolerance = 0.01;
// Rows matched by module path (rows the baseline lacks are left out): the innermost changed modules first,
// by the size of their change (|log ratio|), then the others by the same key; ties keep execution order.
// Throws ConfigError when the two ledgers are of different configs, batches or plans.
std::vector<Growth> ranked_by_growth(const Ledger& ledger, const Ledger& baseline);
std::string growth_table(const std::vector<Growth>& growth, const std::string& baseline, size_t top);
nlohmann::json growth_to_json(const std::vector<Growth>& growth, const std::string& baseline);

nlohmann::json ledger_to_json(const Ledger& ledger);
// Reads back what `probe --json` wrote (an array of ledgers, or one): the ledger of plan `plan`, its header
// and rows (the task errors are not read back: a baseline needs the rows). Malformed content is a
// FormatError naming the file and the field.
Ledger ledger_from_json_file(const std::string& file, const std::string& plan);
std::string ledger_table(const Ledger& ledger);  // fixed-width text, one row per module, task outputs after
std::string ledger_markdown(const std::vector<Ledger>& ledgers);
// Relative L2 and added error per module along the execution order, one line per ledger (log y).
void write_ledger_png(const std::string& path, const std::vector<Ledger>& ledgers);

}  // namespace amt::conformance
