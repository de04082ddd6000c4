#include "reference/precision/plan.hpp"

#include <torch/nn/module.h>

#include <algorithm>
#include <set>

#include "reference/core/error.hpp"

namespace amt::precision {

namespace {

// Levenshtein distance, for "did you mean" in check_plan.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

PrecisionPlan::PrecisionPlan(PrecisionPolicy policy, std::vector<std::string> keep_fp32)
    : policy_(policy), keep_fp32_(std::move(keep_fp32)) {
  for (const auto& p : keep_fp32_) {
    if (p.empty() || p.front() == '.' || p.back() == '.' || p.find("..") != std::string::npos) {
      throw ConfigError("precision plan: '" + p + "' is not a module path (dot-separated names)");
    }
  }
}

std::string PrecisionPlan::name() const {
  if (keep_fp32_.empty()) return policy_.name();
  std::string list;
  for (const auto& p : keep_fp32_) list += (list.empty() ? "" : ",") + p;
  return policy_.name() + "+keep-fp32(" + list + ")";
}

bool PrecisionPlan::keeps(const std::string& path) const {
  return std::any_of(keep_fp32_.begin(), keep_fp32_.end(),
                     [&](const std::string& k) { return k == path || contains_module(k, path); });
}

PrecisionPolicy PrecisionPlan::policy_for(const std::string& path) const {
  if (computes_below_fp32(policy_) && keeps(path))
    return PrecisionPolicy(PolicyKind::kFp32, policy_.device());
  return policy_;
}

bool contains_module(const std::string& ancestor, const std::string& path) {
  if (ancestor == PrecisionPlan::kWholeModel) return path != ancestor;
  return path.size() > ancestor.size() && path.compare(0, ancestor.size(), ancestor) == 0 &&
         path[ancestor.size()] == '.';
}

bool computes_below_fp32(const PrecisionPolicy& policy) {
  return policy.compute_dtype() == torch::kBFloat16 || policy.compute_dtype() == torch::kHalf;
}

std::vector<std::string> parse_module_list(const std::string& comma_list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= comma_list.size()) {
    size_t end = comma_list.find(',', start);
    if (end == std::string::npos) end = comma_list.size();
    std::string item = comma_list.substr(start, end - start);
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    if (first != std::string::npos) out.push_back(item.substr(first, last - first + 1));
    start = end + 1;
  }
  return out;
}

void check_plan(const PrecisionPlan& plan, const torch::nn::Module& root) {
  if (plan.is_default()) return;
  std::set<std::string> paths = {PrecisionPlan::kWholeModel};
  for (const auto& item : root.named_modules("", /*include_self=*/false)) paths.insert(item.key());
  for (const auto& kept : plan.keep_fp32()) {
    if (paths.count(kept)) continue;
    std::vector<std::pair<size_t, std::string>> near;
    for (const auto& p : paths) near.emplace_back(edit_distance(kept, p), p);
    std::sort(near.begin(), near.end());
    std::string hint;
    for (size_t i = 0; i < near.size() && i < 3; ++i) hint += (i ? ", " : "") + near[i].second;
    throw ConfigError("precision plan: --keep-fp32 '" + kept +
                      "' is not a module of the model (closest: " + hint + ")");
  }
}

void apply_param_dtype(torch::nn::Module& root, const PrecisionPlan& plan) {
  if (plan.is_default()) return apply_param_dtype(root, plan.policy());
  check_plan(plan, root);
  // Each module's own tensors go straight to their dtype (never through the narrower one first, which would
  // round a kept module's fp32 weights to bf16 on the way).
  torch::NoGradGuard no_grad;
  const auto move = [&](torch::nn::Module& m, const PrecisionPolicy& p) {
    // As Module::to(device, dtype): floating tensors change dtype, the others only move.
    const auto convert = [&](torch::Tensor& t) {
      t.set_data(t.is_floating_point() ? t.data().to(p.device(), p.param_dtype()) : t.data().to(p.device()));
    };
    for (auto& t : m.parameters(/*recurse=*/false)) convert(t);
    for (auto& t : m.buffers(/*recurse=*/false)) convert(t);
  };
  move(root, plan.policy_for(PrecisionPlan::kWholeModel));
  for (const auto& item : root.named_modules("", /*include_self=*/false)) {
    move(*item.value(), plan.policy_for(item.key()));
  }
}

}  // namespace amt::precision
