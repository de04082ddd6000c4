// `generate` and `verify` for the golden FP32 store (golden/manifest.json, golden/cases/): the subcommands
// of amt_golden and of `amt_conformance golden`.
#include "conformance/cli/golden.hpp"

#include <iostream>
#include <memory>

#include "conformance/cli/subcommand.hpp"
#include "conformance/lib/golden_store.hpp"
#include "program/command_line.hpp"
#include "program/exit_codes.hpp"

namespace amt::cli {

std::function<int()> add_golden_commands(CLI::App& app) {
  app.require_subcommand(1);
  auto dir = std::make_shared<std::string>();
  CLI::App* gen = app.add_subcommand("generate",
                                     "Write golden/manifest.json and golden/cases/*.safetensors from "
                                     "FP32 runs, each checked against FP64 (deterministic)");
  gen->add_option("--dir", *dir, "golden folder to write (default: the project's golden/)");
  CLI::App* ver = app.add_subcommand("verify",
                                     "Check every golden file's sha256 and re-run every case and the "
                                     "10-step trajectory against the stored tolerances");
  ver->add_option("--dir", *dir, "golden folder to check (default: the project's golden/)");
  program::add_verbose_flag(*gen);
  program::add_verbose_flag(*ver);
  return [gen, ver, dir]() -> int {
    if (gen->parsed()) {
      const std::string out = dir->empty() ? conformance::find_golden_dir() : *dir;
      conformance::GoldenLog log;
      log.line = [](const std::string& s) { std::cout << "golden: " << s << "\n" << std::flush; };
      const auto manifest = conformance::generate_goldens(out, log);
      std::cout << "golden: wrote " << manifest.at("cases").size() << " cases and the trajectory to " << out
                << "/manifest.json\n";
      return 0;
    }
    (void)ver;
    const std::string in = dir->empty() ? conformance::find_golden_dir() : *dir;
    const conformance::GoldenVerify v = conformance::verify_goldens(in);
    int bad = 0;
    for (const auto& [id, o] : v.cases) {
      std::cout << (o.ok() ? "ok      " : "FAILED  ") << id << ": " << o.checks.size() << " checks";
      if (!o.ok()) {
        ++bad;
        for (const auto& c : o.checks) {
          if (!c.ok()) std::cout << "\n  " << c.line();
        }
      }
      std::cout << "\n";
    }
    std::cout << "golden verify: " << v.cases.size() - bad << "/" << v.cases.size() << " passed (" << in
              << ")\n";
    return bad == 0 ? program::kExitOk : program::kExitCheckFailed;
  };
}

namespace {
const Registration kGolden{"golden", "The golden FP32 store: generate | verify (as amt_golden)",
                           add_golden_commands};
}  // namespace

}  // namespace amt::cli
