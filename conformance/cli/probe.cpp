// amt_conformance probe / islands: precision diagnosis by module name (conformance/lib/precision_probe.hpp,
// fp32_islands.hpp). probe prints the per-module error ledger of one or more policies against fp64; islands
// finds a 1-minimal set of modules to keep in fp32 for the task outputs to meet a budget against fp32.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "conformance/cli/subcommand.hpp"
#include "conformance/lib/fp32_islands.hpp"
#include "conformance/lib/precision_probe.hpp"
#include "program/command_line.hpp"
#include "reference/core/error.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/precision/faults.hpp"

namespace {

struct SubjectOptions {
  std::string config = "tiny", weights, input;
  uint64_t seed = 0;
  std::vector<std::string> faults;
};

void add_subject_options(CLI::App& app, SubjectOptions& o) {
  app.add_option("--config", o.config, "config name (configs/NAME.yaml) or YAML path")->capture_default_str();
  auto* weights = app.add_option("--weights", o.weights, "full-model safetensors checkpoint");
  app.add_option("--seed", o.seed, "deterministic random weights (and the generated batch's seed)")
      ->excludes(weights)
      ->capture_default_str();
  app.add_option(
      "--input", o.input,
      "forward batch safetensors (image, K, optional E); default: a generated 2-image batch of 5x7 "
      "patch cells");
  app.add_option("--inject-fault", o.faults,
                 "switch a catalogue fault on for the run (repeatable): watch the ledger point at it");
}

amt::conformance::ProbeSubject subject(const SubjectOptions& o) {
  for (const auto& f : o.faults) amt::set_fault(f, true);
  return amt::conformance::make_probe_subject(o.config, o.weights, o.seed, o.input);
}

void write_text(const std::string& path, const std::string& text) {
  amt::io::write_file_atomic(path, text);
}

const amt::cli::Registration kProbe{
    "probe",
    "Per-module error ledger: run a case under each policy and under fp64 and print, per module in execution "
    "order, its output's relative L2 and min cosine vs fp64 and the error it adds when fed the fp64 inputs; "
    "then the task outputs' errors (mm, px, degrees)",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<SubjectOptions>();
      auto policies = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"bf16-pure"});
      auto keep = std::make_shared<std::vector<std::string>>();
      auto json = std::make_shared<std::string>(), md = std::make_shared<std::string>(),
           png = std::make_shared<std::string>();
      add_subject_options(app, *o);
      amt::program::add_policy_option(app, *policies, "policies to probe, comma-separated (one ledger each)")
          ->delimiter(',')
          ->capture_default_str();
      app.add_option("--keep-fp32", *keep, "module paths kept in fp32 in every probed plan (comma-separated)")
          ->delimiter(',');
      auto baseline = std::make_shared<std::string>();
      app.add_option(
          "--baseline", *baseline,
          "a `probe --json` file of a known-good run of the same case: rank the modules by how much "
          "more error they add than there (with --inject-fault and no --baseline, the fault-free "
          "run of this build is the baseline)");
      app.add_option("--json", *json, "write the ledgers as JSON");
      app.add_option("--md", *md, "write the ledgers as Markdown tables");
      app.add_option("--png", *png, "draw relative error per module along the execution order");
      return [=] {
        namespace conf = amt::conformance;
        conf::PlanRunner runner(subject(*o));
        std::vector<conf::Ledger> ledgers;
        nlohmann::json j =
            nlohmann::json::array();  // what --json writes: each ledger, with its growth ranking
        for (const auto& p : *policies) {
          const amt::precision::PrecisionPlan plan(amt::precision::PrecisionPolicy::parse(p), *keep);
          conf::Ledger base;
          std::string base_name;
          if (!baseline->empty()) {
            base = conf::ledger_from_json_file(*baseline, plan.name());
            base_name = *baseline;
          } else if (!o->faults.empty()) {
            const amt::FaultsSuspended fault_free;
            base = conf::probe_ledger(runner, plan);
            base_name = "the fault-free run";
          }
          ledgers.push_back(conf::probe_ledger(runner, plan));
          std::cout << conf::ledger_table(ledgers.back());
          j.push_back(conf::ledger_to_json(ledgers.back()));
          if (!base_name.empty()) {
            const auto ranked = conf::ranked_by_growth(ledgers.back(), base);
            std::cout << conf::growth_table(ranked, base_name, 8);
            j.back()["growth"] = conf::growth_to_json(ranked, base_name);
          }
        }
        if (!json->empty()) {
          write_text(*json, j.dump(2) + "\n");
          std::cout << "probe: wrote " << *json << "\n";
        }
        if (!md->empty()) {
          write_text(*md, conf::ledger_markdown(ledgers));
          std::cout << "probe: wrote " << *md << "\n";
        }
        if (!png->empty()) {
          conf::write_ledger_png(*png, ledgers);
          std::cout << "probe: wrote " << *png << "\n";
        }
        return 0;
      };
    }};

const amt::cli::Registration kIslands{
    "islands",
    "Find a small set of modules that must stay fp32 for the task outputs to meet a budget (max error vs the "
    "fp32 run, in mm / px / degrees), by delta debugging seeded with the probe ledger's ranking; prove it "
    "1-minimal and compare with prefix/suffix bisection",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<SubjectOptions>();
      auto policy = std::make_shared<std::string>("bf16-pure");
      auto budget = std::make_shared<std::string>();
      auto json = std::make_shared<std::string>(), md = std::make_shared<std::string>();
      add_subject_options(app, *o);
      app.add_option("--policy", *policy, "the reduced-precision policy")
          ->check(CLI::IsMember({"bf16-autocast", "bf16-pure"}))
          ->capture_default_str();
      app.add_option(
             "--budget", *budget,
             "OUTPUT=VALUE[,...]: hand_joints, hand_joints_coarse, object_positions, contact_points (mm), "
             "hand_joints_uv (px), object_rotations (deg)")
          ->required();
      app.add_option("--json", *json, "write keep_fp32, the errors and the trials as JSON");
      app.add_option("--md", *md, "write the result and the 1-minimality table as Markdown");
      return [=] {
        const auto budgets = amt::conformance::parse_island_budgets(*budget);
        const auto p = amt::precision::PrecisionPolicy::parse(*policy);
        amt::conformance::PlanRunner runner(subject(*o));
        const auto ledger = amt::conformance::probe_ledger(runner, p);
        const auto search = amt::conformance::find_fp32_islands(runner, p, budgets, ledger);
        std::cout << amt::conformance::islands_report(search);
        if (!json->empty()) {
          write_text(*json, amt::conformance::islands_to_json(search).dump(2) + "\n");
          std::cout << "islands: wrote " << *json << "\n";
        }
        if (!md->empty()) {
          write_text(*md, amt::conformance::islands_markdown(search));
          std::cout << "islands: wrote " << *md << "\n";
        }
        if (!search.feasible) return 1;
        return search.one_minimal ? 0 : 1;
      };
    }};

}  // namespace
