// The conformance gate (docs/design.md §7): before the first step, the trainer proves that the code about to
// train conforms for the exact model config and precision policy — the property suites (conformance/lib, the
// same runner as `amt_conformance --fuzz`), the goldens of that config with the 10-step trajectory, and the
// fault-free check (no fault switch on). `quick` runs one round of each property's quick cases (about half a
// minute on tiny); `full` fuzzes every property for `full_seconds` and verifies every golden. The verdict and
// everything measured go to <run>/conformance.json and conformance.md.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace amt::trainer {

struct GateOptions {
  std::string mode = "quick";  // quick | full
  std::string config = "tiny";
  std::string policy = "bf16-autocast";
  uint64_t seed = 0;
  double full_seconds = 300.0;
  std::function<void(const std::string&)> progress;  // one line per stage
};

struct GateResult {
  bool passed = false;
  std::string reason;    // one paragraph: what failed and how to reproduce it ("" when passed)
  std::string summary;   // one line: "27 properties (612 cases), 8 goldens + trajectory, no faults: passed"
  nlohmann::json json;   // conformance.json
  std::string markdown;  // conformance.md
  double seconds = 0.0;
};

GateResult run_gate(const GateOptions& options);

// Writes conformance.json and conformance.md into `dir` (atomically).
void write_gate_reports(const std::string& dir, const GateResult& result);

}  // namespace amt::trainer
