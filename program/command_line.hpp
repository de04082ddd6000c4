// The options every AMT-Ref program shares and the parse that turns a bad command line into one line and exit
// code 2: --verbose, --version, --policy (listed and checked against the policy table).
#pragma once
#include <CLI/CLI.hpp>

#include <string>

namespace amt::program {

// Set by --verbose: errors are printed whole (every line, LibTorch's backtrace) instead of their first line.
bool& verbose_errors();

// Adds --verbose to `app` (call it for the app and for each subcommand, so it may come anywhere).
CLI::Option* add_verbose_flag(CLI::App& app);

// Adds --version to `app`: the program's name, then the LibTorch it links (CUDA build or not, devices
// visible) and the CPU with the ISA oneDNN dispatches (reference/precision/platform.hpp). Exit code 0.
void add_version_flag(CLI::App& app, const std::string& program);

// The precision policy table's names, for a help text ("fp32, bf16-autocast, ..."), and the CLI11 check that
// refuses any other name (exit 2). A policy the device cannot run (fp16 on the CPU) passes here and is
// refused with the reason when PrecisionPolicy::parse meets it.
std::string policy_list();
CLI::Validator policy_check();

// Adds --policy to `app` for `target` (a string, an optional or a list), listed and checked as above.
template <class Target>
CLI::Option* add_policy_option(CLI::App& app, Target& target, const std::string& what) {
  return app.add_option("--policy", target, what + " (" + policy_list() + ")")->check(policy_check());
}

// Parses the command line. Returns -1 to go on; otherwise the exit code: 0 after --help or --version
// (printed to stdout), kExitBadInput for a bad command line (one line "<who>: <what CLI11 says> (see
// --help)" on stderr).
int parse_command_line(CLI::App& app, int argc, const char* const* argv, const std::string& who);

}  // namespace amt::program
