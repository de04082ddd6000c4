#include "program/command_line.hpp"

#include <iostream>

#include "program/exit_codes.hpp"
#include "reference/core/exception_summary.hpp"
#include "reference/precision/platform.hpp"
#include "reference/precision/policy.hpp"

namespace amt::program {

bool& verbose_errors() {
  static bool verbose = false;
  return verbose;
}

CLI::Option* add_verbose_flag(CLI::App& app) {
  return app.add_flag(
      "--verbose", verbose_errors(),
      "on an error, print the whole message (LibTorch's backtrace, OpenCV's context) instead of "
      "its first line");
}

void add_version_flag(CLI::App& app, const std::string& program) {
  app.set_version_flag(
      "--version",
      [program] { return program + " (AMT-Ref): " + precision::describe(precision::platform()); },
      "print the LibTorch, CUDA and CPU this tool runs on, and exit");
}

std::string policy_list() {
  std::string listed;
  for (const std::string& n : precision::policy_names()) listed += (listed.empty() ? "" : ", ") + n;
  return listed;
}

CLI::Validator policy_check() {
  return CLI::IsMember(precision::policy_names());
}

int parse_command_line(CLI::App& app, int argc, const char* const* argv, const std::string& who) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << who << ": " << first_line(e.what()) << " (see --help)\n";
    return kExitBadInput;
  }
  return -1;
}

}  // namespace amt::program
