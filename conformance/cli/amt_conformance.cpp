// amt_conformance: the conformance harness's command line. The harness's modes are top-level flags (--fuzz,
// --replay, --list: harness.cpp); every other tool is a subcommand that registers itself (subcommand.hpp);
// app.cpp puts them together. Exit codes: run_tool.hpp (0 ok, 1 a check failed, 2 bad input, 3 internal).
#include <iostream>

#include "conformance/cli/app.hpp"
#include "program/command_line.hpp"
#include "program/exit_codes.hpp"
#include "program/run_reporting_errors.hpp"
#include "reference/core/runtime.hpp"

int main(int argc, char** argv) {
  amt::configure_runtime();  // allocator reuse, thread choice (reference/core/runtime.hpp)
  CLI::App app{
      "amt_conformance: precision-conformance harness for the AMT reference model\n"
      "  amt_conformance --fuzz --time 60            fuzz every property for a minute\n"
      "  amt_conformance --replay replay-....json    re-run a recorded failure\n"
      "  amt_conformance --list                      properties and their budgets\n"
      "  amt_conformance <subcommand> --help         embed, forward, golden, resize, shuffle, inspect"};
  const amt::cli::ConformanceCli cli = amt::cli::build_conformance_cli(app);
  amt::program::add_version_flag(app, "amt_conformance");
  if (const int code = amt::program::parse_command_line(app, argc, argv, "amt_conformance"); code >= 0)
    return code;
  for (CLI::App* chosen : app.get_subcommands()) {
    const std::string name = chosen->get_name();
    return amt::program::run_reporting_errors("amt_conformance " + name, cli.runs.at(name));
  }
  const int code = amt::program::run_reporting_errors("amt_conformance", cli.harness);
  if (code == -1) {
    std::cerr << app.help()
              << "\namt_conformance: choose --fuzz, --replay FILE, --faults, --list or a subcommand\n";
    return amt::program::kExitBadInput;
  }
  return code;
}
