#include "conformance/lib/fp32_islands.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "conformance/lib/outcome.hpp"
#include "reference/core/error.hpp"

namespace amt::conformance {

using precision::PolicyKind;
using precision::PrecisionPlan;
using precision::PrecisionPolicy;

std::vector<IslandBudget> parse_island_budgets(const std::string& spec) {
  std::vector<IslandBudget> out;
  for (const std::string& item : precision::parse_module_list(spec)) {
    const auto eq = item.find('=');
    const std::string name = item.substr(0, eq);
    std::string known;
    const std::pair<std::string, std::string>* row = nullptr;
    for (const auto& o : task_outputs()) {
      known += (known.empty() ? "" : ", ") + o.first;
      if (o.first == name) row = &o;
    }
    if (!row) throw ConfigError("--budget: unknown output '" + name + "' (known: " + known + ")");
    if (eq == std::string::npos)
      throw ConfigError("--budget: '" + item + "' has no value (write " + name + "=1.0)");
    double v = 0.0;
    size_t used = 0;
    try {
      v = std::stod(item.substr(eq + 1), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() - eq - 1 || !(v > 0.0)) {
      throw ConfigError("--budget: " + name + " needs a positive number of " + row->second + ", got '" +
                        item.substr(eq + 1) + "'");
    }
    out.push_back({name, v, row->second});
  }
  if (out.empty()) throw ConfigError("--budget: no output given (e.g. --budget hand_joints=1.0)");
  return out;
}

namespace {

// Evaluates plans against the fp32 run, one forward per distinct set.
class TrialRunner {
 public:
  TrialRunner(PlanRunner& runner, const PrecisionPolicy& policy, const std::vector<IslandBudget>& budgets)
      : runner_(runner), policy_(policy), budgets_(budgets) {
    reference_ = runner_.run(PrecisionPolicy(PolicyKind::kFp32, policy.device()));
  }

  const IslandTrial& eval(const std::vector<std::string>& keep) {
    const std::set<std::string> key(keep.begin(), keep.end());
    const auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    IslandTrial t;
    t.keep = keep;
    const TensorMap out = runner_.run(PrecisionPlan(policy_, keep));
    ++trials_;
    t.meets = true;
    for (const TaskError& e : task_errors(out, reference_, runner_.subject().batch)) {
      for (const auto& b : budgets_) {
        if (b.output != e.output) continue;
        t.errors.push_back(e);
        t.meets = t.meets && e.max <= b.limit;
      }
    }
    return cache_.emplace(key, t).first->second;
  }
  bool meets(const std::vector<std::string>& keep) { return eval(keep).meets; }
  int64_t trials() const { return trials_; }

 private:
  PlanRunner& runner_;
  PrecisionPolicy policy_;
  std::vector<IslandBudget> budgets_;
  TensorMap reference_;
  std::map<std::set<std::string>, IslandTrial> cache_;
  int64_t trials_ = 0;
};

std::vector<std::string> without(const std::vector<std::string>& c, const std::vector<std::string>& part) {
  std::vector<std::string> out;
  for (const auto& m : c) {
    if (std::find(part.begin(), part.end(), m) == part.end()) out.push_back(m);
  }
  return out;
}

// Zeller's ddmin over sets that meet the budget: a smaller set that still meets it replaces the current one.
std::vector<std::string> ddmin(std::vector<std::string> c, TrialRunner& t) {
  size_t n = 2;
  while (c.size() >= 2) {
    std::vector<std::vector<std::string>> parts(n);
    for (size_t i = 0; i < c.size(); ++i) parts[i * n / c.size()].push_back(c[i]);
    bool reduced = false;
    for (const auto& part : parts) {
      if (t.meets(part)) {
        c = part;
        n = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced && n > 2) {
      for (const auto& part : parts) {
        const auto rest = without(c, part);
        if (t.meets(rest)) {
          c = rest;
          n = std::max<size_t>(n - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (reduced) continue;
    if (n >= c.size()) break;
    n = std::min(2 * n, c.size());
  }
  return c;
}

// The smallest k in [lo, hi] for which take(k) meets the budget, by bisection: exact when take(hi) meets and
// keeping more never hurts (Polygraphy's assumption; callers check the answer where it matters).
template <class Take>
size_t shortest_meeting(size_t lo, size_t hi, const Take& take, TrialRunner& t) {
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (t.meets(take(mid)))
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

// The shortest run of `leaves` from the front (or back) that meets the budget, by bisection (assuming, as
// Polygraphy does, that keeping more never hurts).
Bisection bisect(const std::vector<std::string>& leaves, bool from_front, TrialRunner& t) {
  const auto take = [&](size_t k) {
    return from_front
               ? std::vector<std::string>(leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(k))
               : std::vector<std::string>(leaves.end() - static_cast<std::ptrdiff_t>(k), leaves.end());
  };
  Bisection b;
  b.direction = from_front ? "prefix" : "suffix";
  b.of = static_cast<int64_t>(leaves.size());
  if (!t.meets(take(leaves.size()))) {
    b.kept = b.of;
    b.modules = leaves;
    return b;
  }
  const size_t lo = shortest_meeting(0, leaves.size(), take, t);
  b.kept = static_cast<int64_t>(lo);
  b.modules = take(lo);
  b.meets = true;
  return b;
}

}  // namespace

IslandSearch find_fp32_islands(PlanRunner& runner, const PrecisionPolicy& policy,
                               const std::vector<IslandBudget>& budgets, const Ledger& ledger) {
  IslandSearch s;
  s.policy = policy.name();
  s.config = runner.subject().config.name;
  s.batch_source = runner.subject().batch_source;
  s.budgets = budgets;
  s.candidates = ranked_modules(ledger);
  TrialRunner t(runner, policy, budgets);
  s.none = t.eval({});
  s.all = t.eval(s.candidates);
  s.feasible = s.all.meets;

  std::vector<std::string> leaves;                           // execution order
  std::map<std::string, std::vector<std::string>> children;  // watched direct children, execution order
  for (const auto& row : ledger.rows) {
    if (row.module.find('#') != std::string::npos) continue;
    bool leaf = true;
    for (const auto& other : ledger.rows) {
      if (other.module.find('#') != std::string::npos ||
          !precision::contains_module(row.module, other.module))
        continue;
      leaf = false;
      if (other.depth == row.depth + 1) children[row.module].push_back(other.module);
    }
    if (leaf) leaves.push_back(row.module);
  }

  if (s.none.meets) {
    s.result = s.none;
  } else if (s.feasible) {
    // Seed: the shortest prefix of the ranking that meets the budget (bisection), then ddmin.
    const auto prefix = [&](size_t k) {
      return std::vector<std::string>(s.candidates.begin(),
                                      s.candidates.begin() + static_cast<std::ptrdiff_t>(k));
    };
    size_t lo = shortest_meeting(1, s.candidates.size(), prefix, t);
    if (!t.meets(prefix(lo))) lo = s.candidates.size();  // the ranking was not monotone there
    s.seed_prefix = lo;
    std::vector<std::string> keep = ddmin(prefix(lo), t);
    // Refine: a kept module whose watched children suffice in its place is replaced by them (then ddmin
    // again), so the answer names the smallest modules that matter ("…embeddings", not "encoder").
    for (bool refined = true; refined;) {
      refined = false;
      for (const auto& m : keep) {
        const auto it = children.find(m);
        if (it == children.end()) continue;
        std::vector<std::string> trial = without(keep, {m});
        trial.insert(trial.end(), it->second.begin(), it->second.end());
        if (t.meets(trial)) {
          keep = ddmin(trial, t);
          refined = true;
          break;
        }
      }
    }
    // ddmin leaves no single removal that still meets the budget; this loop makes that hold by construction.
    for (bool shrunk = true; shrunk;) {
      shrunk = false;
      for (const auto& m : keep) {
        if (t.meets(without(keep, {m}))) {
          keep = without(keep, {m});
          shrunk = true;
          break;
        }
      }
    }
    s.result = t.eval(keep);
  }
  s.one_minimal = s.result.meets;
  for (const auto& m : s.result.keep) {
    s.minimality.push_back(t.eval(without(s.result.keep, {m})));
    s.one_minimal = s.one_minimal && !s.minimality.back().meets;
  }
  s.prefix = bisect(leaves, true, t);
  s.suffix = bisect(leaves, false, t);
  s.trials = t.trials();
  return s;
}

// --- reports -----------------------------------------------------------------------------------------------

namespace {

nlohmann::json errors_json(const IslandTrial& t) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& e : t.errors) j[e.output] = e.max;
  return j;
}

nlohmann::json trial_json(const IslandTrial& t) {
  return {{"keep_fp32", t.keep}, {"errors", errors_json(t)}, {"meets", t.meets}};
}

std::string errors_text(const IslandTrial& t) {
  std::string s;
  for (const auto& e : t.errors)
    s += (s.empty() ? "" : ", ") + e.output + " " + format_value(e.max) + " " + e.unit;
  return s;
}

std::string list_text(const std::vector<std::string>& v) {
  if (v.empty()) return "(none)";
  std::string s;
  for (const auto& m : v) s += (s.empty() ? "" : ",") + m;
  return s;
}

std::string budget_text(const std::vector<IslandBudget>& budgets) {
  std::string s;
  for (const auto& b : budgets)
    s += (s.empty() ? "" : ", ") + b.output + " ≤ " + format_value(b.limit) + " " + b.unit;
  return s;
}

}  // namespace

nlohmann::json islands_to_json(const IslandSearch& s) {
  nlohmann::json j;
  j["policy"] = s.policy;
  j["config"] = s.config;
  j["batch"] = s.batch_source;
  j["reference"] = "fp32";
  j["budget"] = nlohmann::json::object();
  for (const auto& b : s.budgets) j["budget"][b.output] = {{"limit", b.limit}, {"unit", b.unit}};
  j["feasible"] = s.feasible;
  j["keep_fp32"] = s.result.keep;
  j["errors"] = errors_json(s.result);
  j["meets"] = s.result.meets;
  j["one_minimal"] = s.one_minimal;
  j["trials"] = s.trials;
  j["candidates"] = s.candidates;
  j["seed_prefix"] = s.seed_prefix;
  j["none"] = trial_json(s.none);
  j["all"] = trial_json(s.all);
  j["minimality"] = nlohmann::json::array();
  for (size_t i = 0; i < s.minimality.size(); ++i) {
    nlohmann::json row = trial_json(s.minimality[i]);
    row["removed"] = s.result.keep[i];
    j["minimality"].push_back(row);
  }
  for (const Bisection* b : {&s.prefix, &s.suffix}) {
    j["bisection"][b->direction] = {
        {"kept", b->kept}, {"of", b->of}, {"modules", b->modules}, {"meets", b->meets}};
  }
  return j;
}

std::string islands_report(const IslandSearch& s) {
  std::ostringstream os;
  os << "islands: " << s.policy << " vs fp32, " << s.config << ", " << s.batch_source << "\n";
  os << "budget: " << budget_text(s.budgets) << "\n";
  os << "nothing kept: " << errors_text(s.none) << (s.none.meets ? " (meets the budget)" : " (over budget)")
     << "\n";
  os << "all " << s.candidates.size() << " modules kept: " << errors_text(s.all)
     << (s.all.meets ? "" : " (over budget: no plan of this model meets it)") << "\n";
  if (!s.feasible) return os.str();
  os << "keep fp32 (" << s.result.keep.size() << " module" << (s.result.keep.size() == 1 ? "" : "s")
     << "): " << list_text(s.result.keep) << "\n";
  os << "errors with it: " << errors_text(s.result) << "\n";
  os << "1-minimality: " << (s.one_minimal ? "proved" : "NOT proved") << " — each row removes one module:\n";
  for (size_t i = 0; i < s.minimality.size(); ++i) {
    os << "  without " << s.result.keep[i] << ": " << errors_text(s.minimality[i])
       << (s.minimality[i].meets ? "  MEETS the budget" : "  over budget") << "\n";
  }
  os << "search: " << s.trials << " trial runs (seed: the ledger ranking's first " << s.seed_prefix
     << " modules, then ddmin)\n";
  for (const Bisection* b : {&s.prefix, &s.suffix}) {
    os << "Polygraphy-style " << b->direction << " bisection over " << b->of << " leaf modules: ";
    if (b->meets)
      os << "keeps " << b->kept << " (" << list_text(b->modules) << ")\n";
    else
      os << "no " << b->direction
         << " of leaves meets the budget (the blocks' own residual adds stay bf16)\n";
  }
  return os.str();
}

std::string islands_markdown(const IslandSearch& s) {
  std::ostringstream os;
  os << "### fp32 islands for " << s.policy << " (" << s.config << ", " << s.batch_source << ")\n\n";
  os << "Budget vs the fp32 run: " << budget_text(s.budgets) << ".\n\n";
  os << "| plan | errors | meets |\n|---|---|---|\n";
  os << "| nothing kept | " << errors_text(s.none) << " | " << (s.none.meets ? "yes" : "no") << " |\n";
  os << "| all " << s.candidates.size() << " modules | " << errors_text(s.all) << " | "
     << (s.all.meets ? "yes" : "no") << " |\n";
  if (s.feasible) {
    os << "| **keep `" << list_text(s.result.keep) << "`** | " << errors_text(s.result) << " | "
       << (s.result.meets ? "yes" : "no") << " |\n";
    for (size_t i = 0; i < s.minimality.size(); ++i) {
      os << "| without `" << s.result.keep[i] << "` | " << errors_text(s.minimality[i]) << " | "
         << (s.minimality[i].meets ? "yes" : "no") << " |\n";
    }
    for (const Bisection* b : {&s.prefix, &s.suffix}) {
      os << "| " << b->direction << " bisection: " << b->kept << " of " << b->of << " leaves | "
         << (b->meets ? list_text(b->modules) : std::string("none meets")) << " | "
         << (b->meets ? "yes" : "no") << " |\n";
    }
  }
  os << "\n" << s.trials << " trial runs; 1-minimal: " << (s.one_minimal ? "yes" : "no") << ".\n";
  return os.str();
}

}  // namespace amt::conformance
