// The minimal fp32-island search (docs/design.md §6): which modules must stay fp32 for a policy's task
// outputs to meet a budget against the fp32 run of the same case. Delta debugging (Zeller's ddmin) over the
// set of watched modules, seeded with the ledger's ranking (the shortest prefix of the ranking that meets the
// budget), refined (a kept module is replaced by its watched children when they suffice, and ddmin runs
// again), then proved 1-minimal: the set meets the budget and removing any one module breaks it (a table of
// those runs). For comparison, what Polygraphy's prefix/suffix bisection would keep: the shortest run of leaf
// modules in execution order, from the front or from the back, that meets the budget.
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

#include "conformance/lib/precision_probe.hpp"

namespace amt::conformance {

// One `--budget` item: a task output (task_outputs()) and its limit in the output's unit.
struct IslandBudget {
  std::string output;
  double limit = 0.0;
  std::string unit;
};
// "hand_joints=1.0,object_positions=2" → budgets; amt::ConfigError naming an unknown output, a missing or
// non-positive value.
std::vector<IslandBudget> parse_island_budgets(const std::string& spec);

struct IslandTrial {
  std::vector<std::string> keep;  // the modules kept in fp32
  std::vector<TaskError> errors;  // vs the fp32 run, the budgeted outputs only
  bool meets = false;
};

struct Bisection {
  std::string direction;             // "prefix" or "suffix"
  int64_t kept = 0, of = 0;          // leaf modules kept, of all leaves
  std::vector<std::string> modules;  // the kept leaves
  bool meets = false;                // false when even every leaf is not enough
};

struct IslandSearch {
  std::string policy, config, batch_source;
  std::vector<IslandBudget> budgets;
  std::vector<std::string> candidates;  // every watched module, by the ledger's ranking
  IslandTrial none;                     // nothing kept
  IslandTrial all;                      // every candidate kept
  bool feasible = false;                // all.meets: some plan meets the budget
  size_t seed_prefix = 0;               // modules in the shortest ranking prefix that meets the budget
  IslandTrial result;                   // the 1-minimal set (keep_fp32)
  std::vector<IslandTrial> minimality;  // result without each of its modules, in order: each must fail
  bool one_minimal = false;
  int64_t trials = 0;  // distinct plans evaluated (forwards) by the search and the proof
  Bisection prefix, suffix;
};

IslandSearch find_fp32_islands(PlanRunner& runner, const precision::PrecisionPolicy& policy,
                               const std::vector<IslandBudget>& budgets, const Ledger& ledger);

nlohmann::json islands_to_json(const IslandSearch& search);
std::string islands_report(
    const IslandSearch& search);  // text: the set, errors, the minimality table, bisection
std::string islands_markdown(const IslandSearch& search);

}  // namespace amt::conformance
