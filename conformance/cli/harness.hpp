// The harness's own modes of amt_conformance (top-level flags, not subcommands): --fuzz, --replay FILE,
// --list.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace amt::cli {

// Adds the top-level options to `app`. The returned callable runs the chosen mode, or returns -1 when none of
// --fuzz, --replay, --list was given.
std::function<int()> add_harness_options(CLI::App& app);

}  // namespace amt::cli
