// PrecisionPlan: a policy plus the modules kept in fp32, named by module path — the path torch's
// named_modules() gives and the checkpoint keys start with ("encoder.backbone.encoder.layer.3.mlp",
// "refinement", "hand"); "model" names the whole model (the root of the tree). A kept module and everything
// inside it computes as under the fp32 policy: fp32 parameters, fp32 activations, autocast off. Its floating
// inputs are widened to fp32 on entry and its activation outputs returned in the caller's activation dtype
// (module_scope.hpp does both), so the modules around it see what they always see. Keeping a module only ever
// adds precision: under fp32 and fp64 a plan is its policy.
//
// The default plan (no module kept) is the policy itself, bit for bit: module scopes do nothing without a
// plan context, and apply_param_dtype(module, plan) is apply_param_dtype(module, policy).
#pragma once
#include <string>
#include <vector>

#include "reference/precision/policy.hpp"

namespace amt::precision {

class PrecisionPlan {
 public:
  static constexpr const char* kWholeModel = "model";  // the root module's path

  // Implicit: every function taking a plan takes a bare policy too.
  PrecisionPlan(PrecisionPolicy policy = PrecisionPolicy(),  // NOLINT(google-explicit-constructor)
                std::vector<std::string> keep_fp32 = {});

  const PrecisionPolicy& policy() const { return policy_; }
  const std::vector<std::string>& keep_fp32() const { return keep_fp32_; }
  bool is_default() const { return keep_fp32_.empty(); }
  // "bf16-pure" or "bf16-pure+keep-fp32(refinement,hand)".
  std::string name() const;

  // True when `path` or one of its ancestors ("a.b" is an ancestor of "a.b.c", not of "a.bc"; "model" of
  // every path) is kept.
  bool keeps(const std::string& path) const;
  // The policy a module at `path` computes under: fp32 (on the policy's device) when it is kept and the
  // policy computes below fp32; the plan's policy otherwise.
  PrecisionPolicy policy_for(const std::string& path) const;

 private:
  PrecisionPolicy policy_;
  std::vector<std::string> keep_fp32_;
};

// True when the module at `ancestor` strictly contains the one at `path` ("a.b" contains "a.b.c", not "a.bc"
// nor itself; "model", the root, contains every other path).
bool contains_module(const std::string& ancestor, const std::string& path);

// True when a policy computes below fp32 somewhere (bf16/fp16, pure or autocast): only then can keeping a
// module in fp32 change anything.
bool computes_below_fp32(const PrecisionPolicy& policy);

// "a,b , c" → {"a","b","c"} (empty items dropped); the --keep-fp32 syntax.
std::vector<std::string> parse_module_list(const std::string& comma_list);

// amt::ConfigError naming the first kept path that is not a module of `root` (with the closest module
// paths that do exist), so a typo never silently keeps nothing.
void check_plan(const PrecisionPlan& plan, const torch::nn::Module& root);

// Moves each parameter and buffer to the device and parameter dtype of the module that owns it under the
// plan (kept modules fp32), converting from what it holds now: apply it to an fp32 model (make_amt_model and
// load_amt_weights do). Checks the plan first (check_plan).
void apply_param_dtype(torch::nn::Module& root, const PrecisionPlan& plan);

}  // namespace amt::precision
