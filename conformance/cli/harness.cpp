#include "conformance/cli/harness.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "conformance/lib/budgets.hpp"
#include "conformance/lib/fault_runner.hpp"
#include "conformance/lib/fuzz_runner.hpp"
#include "program/command_line.hpp"
#include "reference/core/error.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/precision/faults.hpp"
#include "reference/precision/policy.hpp"

namespace amt::cli {

namespace {
namespace fs = std::filesystem;
using namespace amt::conformance;

struct HarnessOptions {
  bool fuzz = false, list = false, quick = false, faults_mode = false;
  std::string replay;
  double time_s = 0.0;
  int64_t cases = 0;
  uint64_t seed = 0;
  std::string filter, config = "tiny", policy, report_dir = ".", reproduce, json, md;
  std::vector<std::string> faults;
};

// The report folder, created if needed; amt::IoError naming it when that is impossible.
void make_report_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw IoError(dir,
                  "--report-dir: cannot create the folder (" + (ec ? ec.message() : "not a directory") + ")");
  }
}

// Faults named on the command line, switched on for the whole run (unknown names: amt::ConfigError).
void inject(const std::vector<std::string>& faults) {
  for (const std::string& f : faults) set_fault(f, true);
}

int run_list() {
  for (const Property& p : property_table()) {
    std::cout << p.name << "  [" << p.family << ", quick " << p.quick_cases << " cases]\n  " << p.description
              << "\n";
    for (const std::string& q : p.budgets) {
      for (const Budget& b : budget_table()) {
        if (b.quantity == q) {
          std::cout << "    budget " << b.quantity << "@" << b.policy << " = " << format_value(b.limit) << " "
                    << b.unit << "  (" << b.reason << ")\n";
        }
      }
    }
    if (!p.catches.empty()) {
      for (const auto& c : p.catches)
        std::cout << "    catches " << c.fault << " (failing: /" << c.reason << "/)\n";
    }
  }
  std::cout << property_table().size() << " properties\n";
  return 0;
}

int run_fuzz_mode(const HarnessOptions& h) {
  if (!h.policy.empty()) precision::PrecisionPolicy::parse(h.policy);  // fp16 on the CPU: refused, with why
  inject(h.faults);
  make_report_dir(h.report_dir);
  FuzzOptions o;
  o.time_s = h.time_s;
  o.cases = h.cases;
  o.quick = h.quick;
  if (!o.quick && o.time_s <= 0.0 && o.cases <= 0) o.time_s = 60.0;
  o.seed = h.seed;
  o.filter = h.filter;
  o.gen.config = h.config;
  o.gen.policy = h.policy;
  o.reproduce = h.reproduce;
  o.report_dir = h.report_dir;
  const bool tty = isatty(STDERR_FILENO) != 0;
  auto last_line = std::make_shared<double>(-1e9);
  o.progress = [tty, last_line](const FuzzProgress& p) {
    const std::string line = "fuzz: " + std::to_string(p.cases) + " cases (" +
                             format_value(p.cases / std::max(p.seconds, 1e-9)) + "/s), " +
                             std::to_string(p.failed) + " failed, " + format_value(p.seconds) +
                             " s; closest to budget: " + (p.worst.empty() ? "-" : p.worst);
    if (tty) {
      std::cerr << "\r\033[K" << line << std::flush;
    } else if (p.seconds - *last_line >= 10.0) {
      std::cerr << line << "\n";
      *last_line = p.seconds;
    }
  };
  std::cout << "fuzz: config " << h.config << ", policy " << (h.policy.empty() ? "any" : h.policy) << ", seed " << h.seed << (h.quick ? ", quick profile" : "") << ", faults: " << (h.faults.empty() ? std::string("none") : [&] {
    std::string s;
    for (const auto& f : h.faults) s += (s.empty() ? "" : ", ") + f;
    return s;
  }()) << "\n";
  const FuzzReport r = run_fuzz(o);
  if (tty) std::cerr << "\n";
  for (const PropertyReport& p : r.properties) {
    std::cout << (p.failed ? "FAILED  " : "passed  ") << p.name << ": " << p.cases << " cases";
    for (const QuantityStat& s : p.stats) {
      std::cout << "; " << s.quantity << "@" << s.policy << " worst " << format_value(s.worst) << " / "
                << format_value(s.limit) << (s.unit.empty() ? "" : " " + s.unit);
    }
    std::cout << "\n";
  }
  for (const PropertyReport& p : r.properties) {
    if (p.failed) std::cout << "\n" << p.message();
  }
  const std::string json = h.json.empty() ? h.report_dir + "/fuzz-report.json" : h.json;
  const std::string md = h.md.empty() ? h.report_dir + "/fuzz-report.md" : h.md;
  io::write_file_atomic(json, report_json(r).dump(2) + "\n");
  io::write_file_atomic(md, report_markdown(r));
  std::cout << "reports: " << json << ", " << md << "\n";
  std::cout << "fuzz: " << r.cases << " cases, " << r.failed << " failed in " << format_value(r.seconds)
            << " s\n";
  return r.failed == 0 ? 0 : 1;
}

int run_faults_mode(const HarnessOptions& h) {
  if (!h.faults.empty())
    throw ConfigError("--faults switches every fault in turn; it takes no --inject-fault");
  make_report_dir(h.report_dir);
  GenOptions gen;
  gen.config = h.config;
  gen.policy = h.policy;
  std::cout << "faults: every catalogue switch in turn, quick profile of the properties that claim it\n";
  const FaultReport report = run_fault_catalogue(h.filter, h.seed, gen, [](const FaultResult& r) {
    std::cout << fault_line(r) << "\n" << std::flush;
  });
  const std::string json = h.json.empty() ? h.report_dir + "/faults-report.json" : h.json;
  const std::string md = h.md.empty() ? h.report_dir + "/faults-report.md" : h.md;
  io::write_file_atomic(json, fault_report_json(report).dump(2) + "\n");
  io::write_file_atomic(md, fault_report_markdown(report));
  std::cout << "reports: " << json << ", " << md << "\n";
  std::cout << "mutation score: " << report.caught() << "/" << report.faults.size() << "\n";
  return report.caught() == static_cast<int>(report.faults.size()) ? 0 : 1;
}

int run_replay_mode(const HarnessOptions& h) {
  const Replay rp = read_replay_file(h.replay);
  inject(rp.faults);
  inject(h.faults);
  std::cout << "replay: " << describe(rp.c) << "\n";
  if (!rp.faults.empty()) {
    std::cout << "replay: faults on:";
    for (const auto& f : rp.faults) std::cout << " " << f;
    std::cout << "\n";
  }
  const Outcome o = run_case(rp.c);
  for (const Check& c : o.checks) {
    if (!c.ok()) std::cout << "  FAILED " << c.line() << "\n";
  }
  if (o.ok()) {
    std::cout << "replay: passed (" << o.checks.size()
              << " checks); the recorded failure did not reproduce: " << rp.failure << "\n";
    return 0;
  }
  const std::string line = o.first_failure()->line();
  const std::string name = o.first_failure()->name;
  const bool same = rp.failure.rfind(name + " ", 0) == 0;
  std::cout << "replay: FAILED: " << line << "\n"
            << "replay: "
            << (same ? "reproduces the recorded failure"
                     : "fails differently from the recorded: " + rp.failure)
            << "\n";
  return 1;
}
}  // namespace

std::function<int()> add_harness_options(CLI::App& app) {
  auto h = std::make_shared<HarnessOptions>();
  app.add_flag("--fuzz", h->fuzz, "fuzz the properties (time or case budget; default --time 60)");
  app.add_option("--replay", h->replay, "re-run the case of a replay file written by a failing --fuzz")
      ->check(CLI::ExistingFile);
  app.add_flag("--list", h->list, "list the properties, their budgets and the faults they catch");
  app.add_flag("--faults", h->faults_mode,
               "mutation score: switch each catalogue fault on in turn and check its property catches it "
               "(--filter: regex over fault names)");
  app.add_option("--time", h->time_s, "fuzz: seconds to run (new rounds stop starting after it)")
      ->check(CLI::PositiveNumber);
  app.add_option("--cases", h->cases, "fuzz: cases to run in all")->check(CLI::PositiveNumber);
  app.add_flag("--quick", h->quick, "fuzz: one round of each property's quick profile (as ctest)");
  app.add_option("--seed", h->seed, "fuzz: base seed (runs are repeatable)")->capture_default_str();
  app.add_option("--filter", h->filter, "fuzz: regex over property names (see --list)");
  app.add_option("--config", h->config, "fuzz: model config (configs/NAME.yaml)")->capture_default_str();
  program::add_policy_option(app, h->policy, "fuzz: fix the precision policy (default: every policy)");
  app.add_option("--inject-fault", h->faults, "switch a catalogue fault on for the run (repeatable)");
  app.add_option("--report-dir", h->report_dir, "where reports and replay files go")->capture_default_str();
  app.add_option("--reproduce", h->reproduce, "fuzz: a reproduce string from a failure report");
  app.add_option("--json", h->json, "fuzz: JSON report path (default REPORT_DIR/fuzz-report.json)");
  app.add_option("--md", h->md, "fuzz: Markdown report path (default REPORT_DIR/fuzz-report.md)");
  return [h]() -> int {
    if (h->list) return run_list();
    if (h->faults_mode) return run_faults_mode(*h);
    if (!h->replay.empty()) return run_replay_mode(*h);
    if (h->fuzz || h->quick) return run_fuzz_mode(*h);
    return -1;
  };
}

}  // namespace amt::cli
