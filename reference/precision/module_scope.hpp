// Module scopes: how a module applies a PrecisionPlan to itself, and where the precision probe watches.
//
// A module opens a scope at the top of its forward, computes under scope.policy() and passes its tensors
// through the scope:
//
//   precision::ModuleScope scope(*this, policy);
//   const torch::Tensor x = scope.input(x_in);     // widened to fp32 when this module is kept in fp32
//   ...compute with scope.policy()...
//   return scope.output(y);                         // an activation: back in the caller's activation dtype
//   return scope.output_geometric(p);               // a P5 output (already in the output dtype): unchanged
//
// Without a PlanContext on this thread (the default plan, no probe) a scope is a no-op: policy() is the
// caller's policy and input/output return their argument, so the default plan is today's behaviour bit for
// bit. A PlanContext (opened by AmtModel::forward) maps each module object to its path from the root's
// named_modules() (the root itself is "model"); the scope looks itself up there, switches to the plan's
// policy for that path (disabling autocast inside a kept module), and reports every input and output to the
// ModuleTap installed on the thread, if any: the probe records them, or substitutes a reference run's inputs
// (teacher forcing).
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "reference/precision/autocast_guard.hpp"
#include "reference/precision/plan.hpp"

namespace torch::nn {
class Module;
}

namespace amt::precision {

// What a probe implements. `call` counts the module's scopes within one forward (0 for the first);
// `index` counts its inputs (or outputs) within the call, in the order the module passes them.
class ModuleTap {
 public:
  virtual ~ModuleTap() = default;
  virtual void on_enter(const std::string& path, int64_t call) = 0;
  // Receives a floating input after the plan's widening; returns the tensor the module computes on.
  virtual torch::Tensor on_input(const std::string& path, int64_t call, int64_t index,
                                 const torch::Tensor& x) = 0;
  virtual void on_output(const std::string& path, int64_t call, int64_t index, const torch::Tensor& y) = 0;
};

// Installs `tap` on this thread for its lifetime (restoring the previous one on exit).
class TapScope {
 public:
  explicit TapScope(ModuleTap& tap);
  ~TapScope();
  TapScope(const TapScope&) = delete;
  TapScope& operator=(const TapScope&) = delete;

 private:
  ModuleTap* previous_;
};

// Applies `plan` to the forwards of `root`'s submodules on this thread for its lifetime. Opens nothing (and
// costs nothing) for a default plan without a tap. Nested contexts restore the outer one on exit.
class PlanContext {
 public:
  PlanContext(const PrecisionPlan& plan, const torch::nn::Module& root);
  ~PlanContext();
  PlanContext(const PlanContext&) = delete;
  PlanContext& operator=(const PlanContext&) = delete;

  struct State;

 private:
  State* previous_ = nullptr;
  std::unique_ptr<State> state_;
};

// True while a PlanContext is open on this thread (module dtype checks then defer to the plan).
bool plan_active();

class ModuleScope {
 public:
  ModuleScope(const torch::nn::Module& self, const PrecisionPolicy& caller);
  ~ModuleScope() = default;
  ModuleScope(const ModuleScope&) = delete;
  ModuleScope& operator=(const ModuleScope&) = delete;

  const PrecisionPolicy& policy() const { return policy_; }
  // A floating input (other dtypes pass untouched): widened to this scope's activation dtype when the plan
  // keeps the module in fp32 and the input is narrower, then shown to the tap.
  torch::Tensor input(const torch::Tensor& x);
  // An activation output: shown to the tap, then narrowed back to the caller's activation dtype when this
  // module was widened (the caller computes on what it always gets).
  torch::Tensor output(const torch::Tensor& y);
  // An output already in the policy's output dtype (P5 geometric outputs): shown to the tap, never cast.
  torch::Tensor output_geometric(const torch::Tensor& y);

 private:
  PlanContext::State* state_ = nullptr;  // null: no context, or the module is not under the root
  const std::string* path_ = nullptr;
  int64_t call_ = 0, inputs_ = 0, outputs_ = 0;
  PrecisionPolicy caller_;
  PrecisionPolicy policy_;
  bool widened_ = false;
  std::optional<AutocastDisabled> autocast_off_;
};

}  // namespace amt::precision
