// The model a case runs on: a config (configs/NAME.yaml) with the case's backbone family, position
// interpolation mode and token-projector factor applied, weights initialised from seed 0 (the same for every
// policy), eval mode. Built once per (variant, policy) and cached for the process.
#pragma once
#include "conformance/lib/case.hpp"
#include "reference/model/amt_model.hpp"
#include "reference/precision/policy.hpp"
#include "reference/train/losses.hpp"

namespace amt::conformance {

// Backbone variants a case may name: dinov2-hf, dinov2-meta, dinov3.
const std::vector<std::string>& backbone_variants();
// The variants a config can run: all three for tiny (whose DINOv2 and DINOv3 presets share a shape), the
// config's own family (both interpolation modes for DINOv2) otherwise.
std::vector<std::string> backbone_variants(const std::string& config);
// The config for the case's variant; amt::ConfigError for an unknown variant or config.
model::AmtConfig case_config(const Case& c);
// Patch size × shuffle: what image sides of this case must be multiples of.
int64_t case_side_quantum(const Case& c);
// The cached model (eval mode) for the case's variant under `policy`.
model::AmtModel& case_model(const Case& c, const precision::PrecisionPolicy& policy);
// One forward of a case's batch through the real path: conform_batch → AmtModel::forward → compute_losses
// (upstream default weights), without gradients. `probes` receives the model's per-module results.
struct ModelRun {
  TensorMap conformed;
  TensorMap outputs;
  TensorMap probes;
  train::LossResult loss;
};
ModelRun run_model(const Case& c, const TensorMap& batch, const precision::PrecisionPolicy& policy);
// The same path with gradients: zero_grad, forward, compute_losses, backward. The gradients stay on
// case_model(c, policy) for the caller to read (then zero_grad() it); an exception clears them first.
ModelRun run_model_with_gradients(const Case& c, const TensorMap& batch,
                                  const precision::PrecisionPolicy& policy);
// The harness's reference: the same batch under the fp32 policy with every fault switch suspended.
ModelRun reference_run(const Case& c, const TensorMap& batch);

// sha256 of the fp32 weights of the case's variant (named_parameters order, raw little-endian bytes).
std::string case_weights_sha256(const Case& c);

}  // namespace amt::conformance
