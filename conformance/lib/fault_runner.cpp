#include "conformance/lib/fault_runner.hpp"

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>

#include "conformance/lib/fuzz_runner.hpp"
#include "reference/core/error.hpp"
#include "reference/precision/faults.hpp"

namespace amt::conformance {

int FaultReport::caught() const {
  int n = 0;
  for (const FaultResult& f : faults) n += f.caught && f.passes_without_it;
  return n;
}

FaultResult check_fault(const std::string& fault, uint64_t seed, const GenOptions& gen) {
  const auto t0 = std::chrono::steady_clock::now();
  FaultResult r;
  r.fault = fault;
  for (const FaultInfo& f : fault_catalogue()) {
    if (f.name == fault) r.description = f.description;
  }
  if (r.description.empty()) throw ConfigError("unknown fault switch '" + fault + "'");
  for (const Property& p : property_table()) {
    for (const Catch& c : p.catches) {
      if (c.fault != fault || r.caught) continue;
      r.property = p.name;
      r.expected = c.reason;
      const int cases = std::max(p.quick_cases, 20);
      PropertyReport with;
      {
        ScopedFault on(fault);
        with = check_property(p, cases, seed, gen);
      }
      const Check* f = with.failed ? with.outcome.first_failure() : nullptr;
      const std::string line = f ? f->line() : "";
      if (f && std::regex_search(line, std::regex(c.reason))) {
        r.caught = true;
        r.check = line;
        // The inverse half: the same property, same seed and case count, passes with the fault off.
        r.passes_without_it = !check_property(p, cases, seed, gen).failed;
      } else {
        r.other.push_back(
            p.name + ": " +
            (f ? "failed for another reason: " + line : "passed " + std::to_string(with.cases) + " cases"));
      }
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

FaultReport run_fault_catalogue(const std::string& filter, uint64_t seed, const GenOptions& gen,
                                const std::function<void(const FaultResult&)>& on_fault) {
  FaultReport report;
  std::regex re;
  try {
    re = std::regex(filter.empty() ? std::string(".*") : filter);
  } catch (const std::regex_error& e) {
    throw ConfigError("--filter '" + filter + "' is not a valid regular expression: " + e.what());
  }
  for (const FaultInfo& f : fault_catalogue()) {
    if (!std::regex_search(f.name, re)) continue;
    report.faults.push_back(check_fault(f.name, seed, gen));
    if (on_fault) on_fault(report.faults.back());
  }
  if (report.faults.empty()) throw ConfigError("--filter '" + filter + "' matches no fault switch");
  return report;
}

std::string fault_line(const FaultResult& r) {
  if (r.caught && r.passes_without_it) return r.fault + ": caught by " + r.property + " (" + r.check + ")";
  if (r.caught) return r.fault + ": NOT CAUGHT (" + r.property + " fails without the fault too)";
  std::string why = r.property.empty() ? "no property claims it" : "";
  for (const std::string& o : r.other) why += (why.empty() ? "" : "; ") + o;
  return r.fault + ": NOT CAUGHT (" + why + ")";
}

nlohmann::json fault_report_json(const FaultReport& report) {
  nlohmann::json faults = nlohmann::json::array();
  for (const FaultResult& r : report.faults) {
    faults.push_back({{"fault", r.fault},
                      {"description", r.description},
                      {"caught", r.caught && r.passes_without_it},
                      {"property", r.property},
                      {"check", r.check},
                      {"expected_reason", r.expected},
                      {"passes_without_it", r.passes_without_it},
                      {"other_failures", r.other},
                      {"seconds", r.seconds}});
  }
  return {{"caught", report.caught()}, {"total", report.faults.size()}, {"faults", faults}};
}

std::string fault_report_markdown(const FaultReport& report) {
  std::string s = "# amt_conformance --faults\n\n**mutation score: " + std::to_string(report.caught()) + "/" +
                  std::to_string(report.faults.size()) +
                  "**\n\n| fault | caught by | failing check |\n|---|---|---|\n";
  for (const FaultResult& r : report.faults) {
    std::string check = r.caught ? r.check : fault_line(r);
    for (char& ch : check) {
      if (ch == '|' || ch == '\n') ch = ' ';
    }
    s += "| `" + r.fault + "` | " +
         (r.caught && r.passes_without_it ? "`" + r.property + "`" : "**NOT CAUGHT**") + " | " + check +
         " |\n";
  }
  return s;
}

}  // namespace amt::conformance
