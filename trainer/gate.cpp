#include "trainer/gate.hpp"

#include <chrono>
#include <filesystem>

#include "conformance/lib/fuzz_runner.hpp"
#include "conformance/lib/golden_store.hpp"
#include "reference/io/file_bytes.hpp"

namespace amt::trainer {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

GateResult run_gate(const GateOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto say = [&](const std::string& s) {
    if (o.progress) o.progress(s);
  };
  GateResult r;
  std::vector<std::string> failures;

  // 1. Fault-free: a fault switch on means the code under test is not the reference.
  const std::vector<std::string> faults = conformance::enabled_faults();
  if (!faults.empty()) failures.push_back("fault switches are on: " + join(faults));

  // 2. The property suites for this config and policy.
  say("gate: property suites (" + o.mode + ", config " + o.config + ", policy " + o.policy + ")");
  conformance::FuzzOptions fo;
  fo.quick = o.mode != "full";
  fo.time_s = o.mode == "full" ? o.full_seconds : 0.0;
  fo.seed = o.seed;
  fo.gen.config = o.config;
  fo.gen.policy = o.policy;
  const conformance::FuzzReport fuzz = conformance::run_fuzz(fo);
  for (const auto& p : fuzz.properties) {
    if (!p.failed) continue;
    const conformance::Check* c = p.outcome.first_failure();
    failures.push_back("property " + p.name + " failed (" + (c ? c->line() : p.outcome.summary()) +
                       "); reproduce: amt_conformance --fuzz --filter '^" + p.name + "$' --config " +
                       o.config + " --policy " + o.policy + " --seed " + std::to_string(p.seed));
  }

  // 3. The goldens of this config (all of them in full mode) and the trajectory.
  say("gate: goldens");
  nlohmann::json goldens = nlohmann::json::array();
  int64_t golden_cases = 0;
  std::string golden_note;
  try {
    const std::string dir = conformance::find_golden_dir();
    const nlohmann::json manifest = conformance::read_golden_manifest(dir);
    for (const auto& c : manifest.at("cases")) {
      const std::string id = c.at("id").get<std::string>();
      if (o.mode != "full" && c.at("config").get<std::string>() != o.config) continue;
      const conformance::Outcome out = conformance::verify_golden_case(dir, manifest, id);
      ++golden_cases;
      goldens.push_back({{"id", id}, {"ok", out.ok()}, {"summary", out.summary()}});
      if (!out.ok()) failures.push_back("golden " + id + ": " + out.summary());
    }
    if (golden_cases == 0) golden_note = "no golden case for config '" + o.config + "'";
    const conformance::Outcome traj = conformance::verify_golden_trajectory(manifest);
    goldens.push_back({{"id", "trajectory"}, {"ok", traj.ok()}, {"summary", traj.summary()}});
    if (!traj.ok()) failures.push_back("golden trajectory: " + traj.summary());
  } catch (const std::exception& e) {
    failures.push_back(std::string("goldens could not be verified: ") + e.what());
  }

  r.seconds = seconds_since(t0);
  r.passed = failures.empty();
  r.summary = std::to_string(fuzz.properties.size()) + " properties (" + std::to_string(fuzz.cases) +
              " cases, " + std::to_string(fuzz.failed) + " failed), " + std::to_string(golden_cases) +
              " golden cases + trajectory, " +
              (faults.empty() ? "no fault switch on" : "faults on: " + join(faults)) +
              (golden_note.empty() ? "" : " (" + golden_note + ")") + ": " + (r.passed ? "passed" : "FAILED");
  if (!r.passed) {
    r.reason = "The conformance gate refused to train (config " + o.config + ", policy " + o.policy +
               "): " + join(failures) +
               ". Nothing was trained and no checkpoint was written; the full report is "
               "conformance.md in the run folder.";
  }
  r.json = {{"verdict", r.passed ? "passed" : "failed"},
            {"mode", o.mode},
            {"config", o.config},
            {"policy", o.policy},
            {"seconds", r.seconds},
            {"faults", faults},
            {"failures", failures},
            {"summary", r.summary},
            {"properties", conformance::report_json(fuzz)},
            {"goldens", goldens}};
  std::string md = "# Conformance gate: " + std::string(r.passed ? "passed" : "FAILED") + "\n\n";
  md += "Mode `" + o.mode + "`, config `" + o.config + "`, policy `" + o.policy + "`, " +
        std::to_string(r.seconds) + " s.\n\n" + r.summary + "\n\n";
  if (!r.passed) md += "## Why\n\n" + r.reason + "\n\n";
  md += "## Goldens\n\n| case | result |\n|---|---|\n";
  for (const auto& g : goldens)
    md += "| " + g.at("id").get<std::string>() + " | " + g.at("summary").get<std::string>() + " |\n";
  md += "\n" + conformance::report_markdown(fuzz);
  r.markdown = md;
  return r;
}

void write_gate_reports(const std::string& dir, const GateResult& r) {
  std::filesystem::create_directories(dir);
  io::write_file_atomic(dir + "/conformance.json", r.json.dump(2) + "\n");
  io::write_file_atomic(dir + "/conformance.md", r.markdown);
}

}  // namespace amt::trainer
