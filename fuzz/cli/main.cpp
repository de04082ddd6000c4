// amt_conformance: the conformance harness's command line. The harness's modes are top-level flags (--fuzz,
// --replay, --list: harness.cpp); every other tool is a subcommand that registers itself (subcommand.hpp).
#include <iostream>
#include <map>

#include "fuzz/cli/harness.hpp"
#include "fuzz/cli/run_tool.hpp"
#include "fuzz/cli/subcommand.hpp"

namespace amt::cli {
std::vector<Subcommand>& subcommands() {
  static std::vector<Subcommand> list;
  return list;
}
}  // namespace amt::cli

int main(int argc, char** argv) {
  CLI::App app{
      "amt_conformance: precision-conformance harness for the AMT reference model\n"
      "  amt_conformance --fuzz --time 60            fuzz every property for a minute\n"
      "  amt_conformance --replay replay-....json    re-run a recorded failure\n"
      "  amt_conformance --list                      properties and their budgets\n"
      "  amt_conformance <subcommand> --help         embed, forward, golden, resize, shuffle, inspect"};
  app.require_subcommand(0, 1);
  const auto harness = amt::cli::add_harness_options(app);
  std::map<std::string, std::function<int()>> runs;
  for (auto& sub : amt::cli::subcommands()) {
    CLI::App* sc = app.add_subcommand(sub.name, sub.description);
    runs[sub.name] = sub.setup(*sc);
  }
  CLI11_PARSE(app, argc, argv);
  for (CLI::App* chosen : app.get_subcommands()) {
    const std::string name = chosen->get_name();
    return amt::cli::run_reporting_errors("amt_conformance " + name, runs.at(name));
  }
  const int code = amt::cli::run_reporting_errors("amt_conformance", harness);
  if (code == -1) {
    std::cerr << app.help()
              << "\namt_conformance: choose --fuzz, --replay FILE, --faults, --list or a subcommand\n";
    return 2;
  }
  return code;
}
