// Precision diagnosis by module name (issue 11): a per-module error ledger of a policy against fp64, and the
// task-unit errors of the model's outputs. The ledger watches every module that opens a
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

#include "reference/model/amt_model.hpp"
#include "reference/precision/plan.hpp"

namespace amt::conformance {

using TensorMap = std::map<std::string, torch::Tensor>;

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

nlohmann::json ledger_to_json(const Ledger& ledger);
std::string ledger_table(const Ledger& ledger);  // fixed-width text, one row per module, task outputs after
std::string ledger_markdown(const std::vector<Ledger>& ledgers);
// Relative L2 and added error per module along the execution order, one line per ledger (log y).
void write_ledger_png(const std::string& path, const std::vector<Ledger>& ledgers);

}  // namespace amt::conformance
