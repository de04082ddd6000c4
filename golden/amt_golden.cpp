// amt_golden: writes (`generate`) and checks (`verify`) the golden FP32 store. Same as `amt_conformance
// golden`.
#include "fuzz/cli/run_tool.hpp"
#include "golden/golden_cli.hpp"
#include "reference/core/runtime.hpp"

int main(int argc, char** argv) {
  amt::configure_runtime();  // allocator reuse, thread choice (reference/core/runtime.hpp)
  CLI::App app{"amt_golden: the golden FP32 store (golden/manifest.json, golden/cases/)"};
  const auto run = amt::golden::add_golden_commands(app);
  amt::cli::add_verbose_flag(app);
  amt::cli::add_version_flag(app, "amt_golden");
  if (const int code = amt::cli::parse_command_line(app, argc, argv, "amt_golden"); code >= 0) return code;
  return amt::cli::run_reporting_errors("amt_golden", run);
}
