#include "conformance/cli/app.hpp"

#include "conformance/cli/harness.hpp"
#include "conformance/cli/subcommand.hpp"
#include "program/command_line.hpp"
#include "program/exit_codes.hpp"
#include "program/run_reporting_errors.hpp"

namespace amt::cli {

std::vector<Subcommand>& subcommands() {
  static std::vector<Subcommand> list;
  return list;
}

ConformanceCli build_conformance_cli(CLI::App& app) {
  ConformanceCli cli;
  app.require_subcommand(0, 1);
  cli.harness = add_harness_options(app);
  program::add_verbose_flag(app);
  for (auto& sub : subcommands()) {
    CLI::App* sc = app.add_subcommand(sub.name, sub.description);
    program::add_verbose_flag(*sc);
    cli.runs[sub.name] = sub.setup(*sc);
  }
  return cli;
}

}  // namespace amt::cli
