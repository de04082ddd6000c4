// amt_conformance is one CLI with subcommands (embed, resize, shuffle, forward, --fuzz, --replay, ...).
// Each subcommand lives in its own file and registers itself at static-initialisation time:
//
//   static amt::cli::Registration reg{"embed", "Run a backbone on pixel_values ...",
//       [](CLI::App& app) -> std::function<int()> { /* add options to app */ return [] { ... return 0; }; }};
//
// The returned callable runs when that subcommand is chosen and gives the exit code. amt::Error escaping it
// is printed as one line "amt_conformance <name>: <what>" and exits with code 2.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace amt::cli {

using Setup = std::function<std::function<int()>(CLI::App&)>;

struct Subcommand {
  std::string name;
  std::string description;
  Setup setup;
};

std::vector<Subcommand>& subcommands();

struct Registration {
  Registration(std::string name, std::string description, Setup setup) {
    subcommands().push_back({std::move(name), std::move(description), std::move(setup)});
  }
};

}  // namespace amt::cli
