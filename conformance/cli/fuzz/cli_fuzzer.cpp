// libFuzzer target for amt_conformance's command line (conformance/cli/app.cpp: every subcommand, the
// harness's modes, --verbose): the input, split at newlines, is the argument vector. Only the parse runs —
// the chosen subcommand never does — so each input either parses or raises a CLI::ParseError (which the tool
// turns into exit code 2 with one line, program/command_line.hpp).
#include <CLI/CLI.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "conformance/cli/app.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args;  // CLI11 consumes them from the back
  std::string current;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      args.push_back(current);
      current.clear();
    } else {
      current += static_cast<char>(data[i]);
    }
  }
  if (!current.empty()) args.push_back(current);
  if (args.size() > 64) return 0;
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  CLI::App app{"amt_conformance"};
  const amt::cli::ConformanceCli cli = amt::cli::build_conformance_cli(app);
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError&) {
  }
  return 0;
}
