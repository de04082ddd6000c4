#include "conformance/lib/fuzz_runner.hpp"

#include <rapidcheck.h>
#include <rapidcheck/detail/Configuration.h>
#include <rapidcheck/detail/TestListener.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "reference/core/error.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/json_file.hpp"
#include "reference/precision/faults.hpp"
#include "reference/precision/platform.hpp"

namespace amt::conformance {

namespace {
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Keeps the most recent case; a failure RapidCheck reports or a shrink it accepts becomes the best (= the
// minimal failing case once shrinking ends).
struct Tracker : rc::detail::TestListener {
  Case current_case, best_case;
  Outcome current_outcome, best_outcome;
  void onTestCaseFinished(const rc::detail::CaseDescription& d) override {
    if (d.result.type == rc::detail::CaseResult::Type::Failure) keep();
  }
  void onShrinkTried(const rc::detail::CaseDescription&, bool accepted) override {
    if (accepted) keep();
  }
  void onTestFinished(const rc::detail::TestMetadata&, const rc::detail::TestResult&) override {}
  void keep() {
    best_case = current_case;
    best_outcome = current_outcome;
  }
};

void record(std::map<std::string, QuantityStat>& stats, const Outcome& o, const Case& c) {
  for (const Check& k : o.checks) {
    if (k.structural()) continue;
    QuantityStat& s = stats[k.quantity + "@" + k.policy];
    if (s.quantity.empty() || k.value > s.worst) {
      s.quantity = k.quantity;
      s.policy = k.policy;
      s.unit = k.unit;
      s.limit = k.limit;
      s.worst = k.value;
      s.where = k.name + " in " + describe(c);
    }
  }
}
}  // namespace

std::string PropertyReport::message() const {
  if (!failed) return name + ": passed " + std::to_string(cases) + " cases";
  const Check* f = outcome.first_failure();
  std::string s = "property " + name + " FAILED after " + std::to_string(cases) +
                  " passing case(s), shrunk in " + std::to_string(shrinks) + " step(s)\n";
  s += "  shrunk case: " + describe(shrunk) + "\n";
  s += "  seed: " + std::to_string(seed) + "\n";
  s += "  reproduce: RC_PARAMS=\"" + reproduce + "\"  (amt_conformance --fuzz --filter '^" + name +
       "$' --reproduce '" + reproduce + "')\n";
  s += "  failing check: " + (f ? f->line() : std::string("?")) + "\n";
  if (!replay_file.empty())
    s += "  replay file: " + replay_file + "  (amt_conformance --replay " + replay_file + ")\n";
  return s;
}

PropertyReport check_property(const Property& property, int max_success, uint64_t seed, const GenOptions& gen,
                              const std::string& reproduce) {
  PropertyReport r;
  r.name = property.name;
  r.seed = seed;
  const auto t0 = Clock::now();
  // RapidCheck scales ranges by a size that ramps from 0 over a run, so short runs would stay near the
  // minimum of every range: draw at full size from the first case (shrinking still goes toward the minimum).
  const rc::Gen<Case> g = rc::gen::resize(rc::kNominalSize, property.gen(gen));
  std::map<std::string, QuantityStat> stats;
  Tracker tracker;
  bool failing = false;
  const auto body = [&] {
    const Case c = *g;
    // The property given runs its own cases (run_case would look the case's name up in the table instead,
    // which is the same for the table's rows); an exception is a failed "error" check, as in run_case.
    Outcome o;
    try {
      o = property.run(c);
    } catch (const std::exception& e) {
      o.require(false, c.property, "error", describe_exception(e));
    }
    (failing ? r.shrinks : r.cases) += 1;
    tracker.current_case = c;
    tracker.current_outcome = o;
    if (o.ok()) {
      if (!failing) record(stats, o, c);
      return;
    }
    failing = true;
    RC_FAIL(o.summary());
  };
  rc::detail::TestMetadata metadata;
  metadata.id = property.name;
  metadata.description = property.description;
  rc::detail::TestParams params;
  params.seed = seed;
  params.maxSuccess = max_success;
  params.maxSize = 100;
  std::unordered_map<std::string, rc::detail::Reproduce> reproduce_map;
  if (!reproduce.empty()) {
    try {
      reproduce_map = rc::detail::configFromString(reproduce).reproduce;
    } catch (const std::exception& e) {
      throw ConfigError("--reproduce: not a RapidCheck reproduce string (" + std::string(e.what()) + ")");
    }
  }
  const rc::detail::TestResult result =
      rc::detail::checkProperty(rc::detail::toProperty(body), metadata, params, tracker, reproduce_map);
  r.seconds = since(t0);
  for (auto& [key, s] : stats) r.stats.push_back(s);
  rc::detail::FailureResult failure;
  if (result.match(failure)) {
    r.failed = true;
    r.shrunk = tracker.best_case;
    r.outcome = tracker.best_outcome;
    rc::detail::Configuration config;
    config.testParams = params;
    config.reproduce[property.name] = failure.reproduce;
    r.reproduce = rc::detail::configToMinimalString(config);
  }
  rc::detail::GaveUpResult gave_up;
  rc::detail::Error error;
  if (result.match(gave_up) || result.match(error)) {
    r.failed = true;
    r.outcome.require(
        false, property.name, "error",
        "RapidCheck gave up: " + (result.match(gave_up) ? gave_up.description : error.description));
  }
  return r;
}

std::vector<std::string> enabled_faults() {
  std::vector<std::string> on;
  for (const FaultInfo& f : fault_catalogue()) {
    if (fault_enabled(f.name)) on.push_back(f.name);
  }
  return on;
}

FuzzReport run_fuzz(const FuzzOptions& o) {
  if (!o.quick && o.time_s <= 0.0 && o.cases <= 0) {
    throw ConfigError("fuzz: give a time (--time S), a case budget (--cases N) or the quick profile");
  }
  std::vector<const Property*> chosen;
  try {
    const std::regex re(o.filter.empty() ? std::string(".*") : o.filter);
    for (const Property& p : property_table()) {
      if (std::regex_search(p.name, re)) chosen.push_back(&p);
    }
  } catch (const std::regex_error& e) {
    throw ConfigError("--filter '" + o.filter + "' is not a valid regular expression: " + e.what());
  }
  if (chosen.empty()) throw ConfigError("--filter '" + o.filter + "' matches no property (see --list)");

  FuzzReport report;
  report.seed = o.seed;
  report.faults = enabled_faults();
  report.gen = o.gen;
  std::map<std::string, PropertyReport> merged;
  const auto t0 = Clock::now();
  for (int64_t round = 0;; ++round) {
    bool ran = false;
    for (const Property* p : chosen) {
      PropertyReport& m = merged[p->name];
      m.name = p->name;
      if (m.failed) continue;
      const bool out_of_time = o.time_s > 0.0 && since(t0) >= o.time_s;
      const bool out_of_cases = o.cases > 0 && report.cases >= o.cases;
      if (!o.quick && (out_of_time || out_of_cases)) continue;
      if (o.quick && round > 0) continue;
      const int chunk = o.quick ? p->quick_cases : std::max(1, p->quick_cases / 2);
      // Each (round, property) draws from its own seed, so rounds explore new cases and a run is repeatable.
      const uint64_t seed = o.seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(round) * 1000003ULL +
                            std::hash<std::string>{}(p->name) % 1000003ULL;
      PropertyReport r = check_property(*p, chunk, seed, o.gen, o.reproduce);
      ran = true;
      report.cases += r.cases;
      m.cases += r.cases;
      m.shrinks += r.shrinks;
      m.seconds += r.seconds;
      for (const QuantityStat& s : r.stats) {
        auto it = std::find_if(m.stats.begin(), m.stats.end(), [&](const QuantityStat& x) {
          return x.quantity == s.quantity && x.policy == s.policy;
        });
        if (it == m.stats.end())
          m.stats.push_back(s);
        else if (s.worst > it->worst)
          *it = s;
      }
      if (r.failed) {
        m.failed = true;
        m.shrunk = r.shrunk;
        m.outcome = r.outcome;
        m.seed = r.seed;
        m.reproduce = r.reproduce;
        ++report.failed;
        if (!o.report_dir.empty()) {
          m.replay_file = o.report_dir + "/replay-" + p->name + "-" + std::to_string(r.seed) + ".json";
          write_replay_file(m.replay_file, m, report.faults);
        }
      }
      if (o.progress) {
        FuzzProgress pr;
        pr.cases = report.cases;
        pr.failed = report.failed;
        pr.seconds = since(t0);
        pr.property = p->name;
        double closest = -1.0;
        for (const auto& [name, rep] : merged) {
          for (const QuantityStat& s : rep.stats) {
            const double ratio = s.limit > 0 ? s.worst / s.limit : 0.0;
            if (ratio > closest) {
              closest = ratio;
              pr.worst = s.quantity + "@" + s.policy + " " + format_value(s.worst) + " / " +
                         format_value(s.limit) + " " + s.unit;
            }
          }
        }
        o.progress(pr);
      }
    }
    if (!ran) break;
  }
  report.seconds = since(t0);
  for (const Property* p : chosen) report.properties.push_back(merged[p->name]);
  return report;
}

nlohmann::json report_json(const FuzzReport& r) {
  nlohmann::json props = nlohmann::json::array();
  for (const PropertyReport& p : r.properties) {
    nlohmann::json stats = nlohmann::json::array();
    for (const QuantityStat& s : p.stats) {
      stats.push_back({{"quantity", s.quantity},
                       {"policy", s.policy},
                       {"unit", s.unit},
                       {"worst", s.worst},
                       {"budget", s.limit},
                       {"tightest_passing_budget", s.worst},
                       {"where", s.where}});
    }
    nlohmann::json j = {{"property", p.name},   {"cases", p.cases},   {"shrinks", p.shrinks},
                        {"seconds", p.seconds}, {"failed", p.failed}, {"stats", stats}};
    if (p.failed) {
      const Check* f = p.outcome.first_failure();
      j["failure"] = {{"case", case_to_json(p.shrunk)}, {"case_line", describe(p.shrunk)},
                      {"check", f ? f->line() : ""},    {"seed", p.seed},
                      {"reproduce", p.reproduce},       {"replay_file", p.replay_file}};
    }
    props.push_back(j);
  }
  return {{"cases", r.cases},
          {"failed", r.failed},
          {"seconds", r.seconds},
          {"seed", r.seed},
          {"faults", r.faults},
          {"config", r.gen.config},
          {"policy", r.gen.policy.empty() ? "any" : r.gen.policy},
          {"platform", precision::to_json(precision::platform())},
          {"properties", props}};
}

std::string report_markdown(const FuzzReport& r) {
  std::string s = "# amt_conformance --fuzz\n\n";
  s += "config `" + r.gen.config + "`, policy " + (r.gen.policy.empty() ? "any" : "`" + r.gen.policy + "`") +
       ", seed " + std::to_string(r.seed) + ", faults: " +
       (r.faults.empty() ? std::string("none")
                         : "`" +
                               [&] {
                                 std::string f;
                                 for (const auto& x : r.faults) f += (f.empty() ? "" : "`, `") + x;
                                 return f;
                               }() +
                               "`") +
       "\n\n";
  s += "on " + precision::describe(precision::platform()) + "\n\n";
  s += "**" + std::to_string(r.cases) + " cases, " + std::to_string(r.failed) + " failed in " +
       format_value(r.seconds) + " s**\n\n";
  s += "| property | cases | result | quantity | worst seen | budget | tightest passing budget |\n";
  s += "|---|---|---|---|---|---|---|\n";
  for (const PropertyReport& p : r.properties) {
    const std::string result = p.failed ? "**FAILED**" : "passed";
    if (p.stats.empty()) {
      s += "| `" + p.name + "` | " + std::to_string(p.cases) + " | " + result + " | (structural) | | | |\n";
    }
    for (const QuantityStat& q : p.stats) {
      s += "| `" + p.name + "` | " + std::to_string(p.cases) + " | " + result + " | " + q.quantity + "@" +
           q.policy + " | " + format_value(q.worst) + " " + q.unit + " | " + format_value(q.limit) + " " +
           q.unit + " | " + format_value(q.worst) + " " + q.unit + " |\n";
    }
  }
  for (const PropertyReport& p : r.properties) {
    if (!p.failed) continue;
    s += "\n## " + p.name + " failed\n\n```\n" + p.message() + "```\n";
  }
  return s;
}

void write_replay_file(const std::string& path, const PropertyReport& failure,
                       const std::vector<std::string>& faults) {
  const Check* f = failure.outcome.first_failure();
  const nlohmann::json j = {
      {"format", "amt-replay-1"}, {"case", case_to_json(failure.shrunk)}, {"faults", faults},
      {"seed", failure.seed},     {"reproduce", failure.reproduce},       {"failure", f ? f->line() : ""}};
  io::write_file_atomic(path, j.dump(2) + "\n");
}

Replay read_replay_file(const std::string& path) {
  const nlohmann::json j = io::load_json_file(path);
  if (!j.is_object() || j.value("format", "") != "amt-replay-1") {
    throw FormatError(path, "format", "not an amt-replay-1 file");
  }
  Replay r;
  if (!j.contains("case")) throw FormatError(path, "case", "missing");
  r.c = case_from_json(j.at("case"), path + " [case]");
  try {
    r.faults = j.at("faults").get<std::vector<std::string>>();
    r.failure = j.at("failure").get<std::string>();
    r.reproduce = j.at("reproduce").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, "faults/failure/reproduce", e.what());
  }
  return r;
}

}  // namespace amt::conformance
