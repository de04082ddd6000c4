// amt_conformance's whole command line, built in one place so that main() and the CLI fuzzer
// (fuzz/targets/cli_fuzzer.cpp) parse exactly the same options.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <string>

namespace amt::cli {

struct ConformanceCli {
  std::function<int()> harness;                      // --fuzz, --replay, --faults, --list (-1: none chosen)
  std::map<std::string, std::function<int()>> runs;  // one per subcommand, by name
};

// Adds every subcommand (subcommand.hpp), the harness's top-level modes and --verbose (on the app and on each
// subcommand) to `app`. Nothing runs until a returned callable is called.
ConformanceCli build_conformance_cli(CLI::App& app);

}  // namespace amt::cli
