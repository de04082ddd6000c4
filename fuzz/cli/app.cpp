#include "fuzz/cli/app.hpp"

#include "fuzz/cli/harness.hpp"
#include "fuzz/cli/run_tool.hpp"
#include "fuzz/cli/subcommand.hpp"

namespace amt::cli {

std::vector<Subcommand>& subcommands() {
  static std::vector<Subcommand> list;
  return list;
}

ConformanceCli build_conformance_cli(CLI::App& app) {
  ConformanceCli cli;
  app.require_subcommand(0, 1);
  cli.harness = add_harness_options(app);
  add_verbose_flag(app);
  for (auto& sub : subcommands()) {
    CLI::App* sc = app.add_subcommand(sub.name, sub.description);
    add_verbose_flag(*sc);
    cli.runs[sub.name] = sub.setup(*sc);
  }
  return cli;
}

}  // namespace amt::cli
