// amt_conformance golden generate|verify — the same commands as amt_golden.
#include "fuzz/cli/subcommand.hpp"
#include "golden/golden_cli.hpp"

namespace {
const amt::cli::Registration kGolden{"golden", "The golden FP32 store: generate | verify (as amt_golden)",
                                     [](CLI::App& app) { return amt::golden::add_golden_commands(app); }};
}  // namespace
