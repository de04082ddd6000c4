// The mutation score: every fault switch of the catalogue in turn is switched on and the properties that
// claim it (Property::catches) run their quick profile; the fault is caught only when one of them fails *for
// the reason it names* (Catch::reason matched against the failing check), never merely because something
// threw. `amt_conformance --faults`, the ctest label `faults` and the inverse tests run through here.
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <string>
#include <vector>

#include "conformance/lib/properties.hpp"

namespace amt::conformance {

struct FaultResult {
  std::string fault, description;
  bool caught = false;
  std::string property;            // the property that caught it (or the last one tried)
  std::string check;               // the failing check's line, e.g. "hand_joints 7.8 mm > 1.0 mm (...)"
  std::string expected;            // the reason the property had to fail for
  bool passes_without_it = false;  // the same property, same seed, with the fault off: passed
  std::vector<std::string> other;  // failures for other reasons (not counted)
  double seconds = 0.0;
};

struct FaultReport {
  std::vector<FaultResult> faults;
  int caught() const;
};

// One fault: switch it on, run each claiming property; then re-run the catching property with it off.
FaultResult check_fault(const std::string& fault, uint64_t seed, const GenOptions& gen = {});
// Every fault whose name matches `filter` (ECMAScript regex; empty = all), in catalogue order; `on_fault` (if
// set) sees each result as soon as it is known. A bad regex or one matching no switch: amt::ConfigError.
FaultReport run_fault_catalogue(const std::string& filter, uint64_t seed, const GenOptions& gen = {},
                                const std::function<void(const FaultResult&)>& on_fault = {});

nlohmann::json fault_report_json(const FaultReport& report);
std::string fault_report_markdown(const FaultReport& report);
// "<fault>: caught by <property> (<check>)" or "<fault>: NOT CAUGHT (<why>)".
std::string fault_line(const FaultResult& r);

}  // namespace amt::conformance
