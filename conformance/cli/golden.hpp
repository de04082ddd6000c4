// `generate` and `verify` for the golden store, shared by amt_golden and `amt_conformance golden`.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace amt::cli {

// Adds the `generate` and `verify` subcommands to `app`; the returned callable runs the chosen one and gives
// the exit code (0 ok, 1 verify found a difference).
std::function<int()> add_golden_commands(CLI::App& app);

}  // namespace amt::cli
