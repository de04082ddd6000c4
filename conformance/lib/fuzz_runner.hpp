// Runs properties of the table under RapidCheck: a case or time budget, a seed, a name filter; shrinks every
// failure to a minimal case; records per property the cases run and, per checked quantity, the worst value
// seen against its budget (the tightest budget that would still have passed, as Polygraphy prints). The
// ctest suites, `amt_conformance --fuzz` and the trainer's gate all run properties through here.
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "conformance/lib/case.hpp"
#include "conformance/lib/outcome.hpp"
#include "conformance/lib/properties.hpp"

namespace amt::conformance {

struct QuantityStat {
  std::string quantity, policy, unit;
  double worst = 0.0;  // the worst value seen over passing cases
  double limit = 0.0;  // the budget
  std::string where;   // the check and case that gave the worst value
};

struct PropertyReport {
  std::string name;
  int64_t cases = 0;    // cases generated before any failure
  int64_t shrinks = 0;  // further runs while shrinking a failure
  double seconds = 0.0;
  std::vector<QuantityStat> stats;
  bool failed = false;
  // On failure:
  Case shrunk;              // the minimal failing case
  Outcome outcome;          // what it found
  uint64_t seed = 0;        // the RapidCheck seed of the failing run
  std::string reproduce;    // RapidCheck's configuration string that replays the failure (RC_PARAMS form)
  std::string replay_file;  // written by run_fuzz when a report dir is set
  // Multi-line: property, shrunk case, seed, reproduce string, failing check with its worst element.
  std::string message() const;
};

struct FuzzProgress {
  int64_t cases = 0, failed = 0;
  double seconds = 0.0;
  std::string property;
  std::string worst;  // "joints_mm@bf16-pure 0.81 / 3 mm" — the quantity closest to its budget so far
};

struct FuzzOptions {
  double time_s = 0.0;  // stop starting new rounds after this many seconds (0: no limit)
  int64_t cases = 0;    // stop after this many cases in all (0: no limit)
  bool quick = false;   // one round of each property's quick_cases (ctest, the gate)
  uint64_t seed = 0;
  std::string filter;  // ECMAScript regex; properties whose name it matches (search) run
  GenOptions gen;
  std::string reproduce;   // a reproduce string from a report: replays that failure
  std::string report_dir;  // where replay files go ("" = none written)
  std::function<void(const FuzzProgress&)> progress;
};

struct FuzzReport {
  std::vector<PropertyReport> properties;
  int64_t cases = 0, failed = 0;
  double seconds = 0.0;
  uint64_t seed = 0;
  std::vector<std::string> faults;  // fault switches on during the run
  GenOptions gen;
};

// amt::ConfigError when the filter matches no property or is not a valid regex, or when neither a time, a
// case budget nor quick is given.
FuzzReport run_fuzz(const FuzzOptions& options);
// One property, `max_success` cases from `seed` (the suites call this).
PropertyReport check_property(const Property& property, int max_success, uint64_t seed,
                              const GenOptions& gen = {}, const std::string& reproduce = "");

nlohmann::json report_json(const FuzzReport& report);
std::string report_markdown(const FuzzReport& report);

// Replay files: the shrunk case, the property, the faults that were on, the seed, the reproduce string and
// the failure line. read_replay_file throws amt::FormatError naming the file and field.
void write_replay_file(const std::string& path, const PropertyReport& failure,
                       const std::vector<std::string>& faults);
struct Replay {
  Case c;
  std::vector<std::string> faults;
  std::string failure;  // the failure line recorded when the file was written
  std::string reproduce;
};
Replay read_replay_file(const std::string& path);

// The fault switches currently on, by name.
std::vector<std::string> enabled_faults();

}  // namespace amt::conformance
