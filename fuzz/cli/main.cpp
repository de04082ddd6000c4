// amt_conformance: the conformance harness's command line. Subcommands register themselves (subcommand.hpp).
#include <exception>
#include <iostream>
#include <map>

#include "fuzz/cli/subcommand.hpp"
#include "reference/core/error.hpp"

namespace amt::cli {
std::vector<Subcommand>& subcommands() {
  static std::vector<Subcommand> list;
  return list;
}
}  // namespace amt::cli

int main(int argc, char** argv) {
  CLI::App app{"amt_conformance: precision-conformance harness for the AMT reference model"};
  app.require_subcommand(1);
  std::map<std::string, std::function<int()>> runs;
  for (auto& sub : amt::cli::subcommands()) {
    CLI::App* sc = app.add_subcommand(sub.name, sub.description);
    runs[sub.name] = sub.setup(*sc);
  }
  CLI11_PARSE(app, argc, argv);
  for (CLI::App* chosen : app.get_subcommands()) {
    const std::string name = chosen->get_name();
    try {
      return runs.at(name)();
    } catch (const amt::Error& e) {
      std::cerr << "amt_conformance " << name << ": " << e.what() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "amt_conformance " << name << ": unexpected error: " << e.what() << "\n";
      return 3;
    }
  }
  return 1;
}
