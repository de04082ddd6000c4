#include "reference/precision/module_scope.hpp"

#include <torch/nn/module.h>

#include <unordered_map>

namespace amt::precision {

struct PlanContext::State {
  PrecisionPlan plan;
  std::unordered_map<const torch::nn::Module*, std::string> paths;
  std::unordered_map<const torch::nn::Module*, int64_t> calls;
};

namespace {
thread_local PlanContext::State* t_state = nullptr;
thread_local ModuleTap* t_tap = nullptr;

bool is_reduced_float(torch::ScalarType t) {
  return t == torch::kBFloat16 || t == torch::kHalf;
}
}  // namespace

TapScope::TapScope(ModuleTap& tap) : previous_(t_tap) {
  t_tap = &tap;
}
TapScope::~TapScope() {
  t_tap = previous_;
}

PlanContext::PlanContext(const PrecisionPlan& plan, const torch::nn::Module& root) : previous_(t_state) {
  if (plan.is_default() && t_tap == nullptr) return;
  state_ = std::make_unique<State>(State{plan, {}, {}});
  state_->paths.emplace(&root, PrecisionPlan::kWholeModel);
  for (const auto& item : root.named_modules("", /*include_self=*/false)) {
    state_->paths.emplace(item.value().get(), item.key());
  }
  t_state = state_.get();
}

PlanContext::~PlanContext() {
  if (state_) t_state = previous_;
}

bool plan_active() {
  return t_state != nullptr;
}

ModuleScope::ModuleScope(const torch::nn::Module& self, const PrecisionPolicy& caller)
    : caller_(caller), policy_(caller) {
  if (t_state == nullptr) return;
  const auto it = t_state->paths.find(&self);
  if (it == t_state->paths.end()) return;
  state_ = t_state;
  path_ = &it->second;
  call_ = state_->calls[&self]++;
  // A kept module computes in fp32 when its caller computes below fp32 (inside a kept parent the caller's
  // policy is already fp32 and nothing changes).
  if (computes_below_fp32(caller) && state_->plan.keeps(*path_)) {
    policy_ = PrecisionPolicy(PolicyKind::kFp32, caller.device());
    widened_ = true;
    if (caller.uses_autocast()) autocast_off_.emplace();
  }
  if (t_tap) t_tap->on_enter(*path_, call_);
}

torch::Tensor ModuleScope::input(const torch::Tensor& x) {
  if (!state_ || !x.defined() || !x.is_floating_point()) return x;
  torch::Tensor v = x;
  if (widened_ && is_reduced_float(v.scalar_type())) v = v.to(policy_.activation_dtype());
  if (t_tap) v = t_tap->on_input(*path_, call_, inputs_, v);
  ++inputs_;
  return v;
}

torch::Tensor ModuleScope::output(const torch::Tensor& y) {
  if (!state_ || !y.defined() || !y.is_floating_point()) return y;
  torch::Tensor v = y;
  if (widened_ && v.scalar_type() != caller_.activation_dtype()) v = v.to(caller_.activation_dtype());
  if (t_tap) t_tap->on_output(*path_, call_, outputs_, v);
  ++outputs_;
  return v;
}

torch::Tensor ModuleScope::output_geometric(const torch::Tensor& y) {
  if (!state_ || !y.defined() || !y.is_floating_point()) return y;
  if (t_tap) t_tap->on_output(*path_, call_, outputs_, y);
  ++outputs_;
  return y;
}

}  // namespace amt::precision
