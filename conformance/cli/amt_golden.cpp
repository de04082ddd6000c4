// amt_golden: writes (`generate`) and checks (`verify`) the golden FP32 store. Same as `amt_conformance
// golden`.
#include "conformance/cli/golden.hpp"
#include "program/command_line.hpp"
#include "program/exit_codes.hpp"
#include "program/run_reporting_errors.hpp"
#include "reference/core/runtime.hpp"

int main(int argc, char** argv) {
  amt::configure_runtime();  // allocator reuse, thread choice (reference/core/runtime.hpp)
  CLI::App app{"amt_golden: the golden FP32 store (golden/manifest.json, golden/cases/)"};
  const auto run = amt::cli::add_golden_commands(app);
  amt::program::add_verbose_flag(app);
  amt::program::add_version_flag(app, "amt_golden");
  if (const int code = amt::program::parse_command_line(app, argc, argv, "amt_golden"); code >= 0)
    return code;
  return amt::program::run_reporting_errors("amt_golden", run);
}
