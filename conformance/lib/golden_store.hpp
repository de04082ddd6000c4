// The golden FP32 store (golden/): manifest.json and cases/<id>.safetensors (docs/design.md §6, llm.c's
// test_gpt2 idea). Each case holds its inputs (inputs/*), per-module probes (probes/*), every model output
// (outputs/*), every loss term and the total (loss/*) and the gradients of a chosen set of parameters
// (grads/*), all from an FP32 run (eval mode, weights from seed 0, nothing stored but their hash). The
// manifest gives per case the config, policy, seed, input description, the stored tolerance of every tensor
// with its reason (golden_factor × the measured fp32-vs-fp64 error, at least golden_floor), the sha256 of the
// file, the LibTorch version, the generator revision and the weights hash; and a 10-step FP32 training-loss
// trajectory on a fixed batch, as data. Generation is deterministic: two runs write byte-identical files.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "conformance/lib/case.hpp"
#include "conformance/lib/outcome.hpp"

namespace amt::conformance {

// Bump when the generator changes what it writes (the manifest says which revision wrote it).
constexpr int kGoldenGeneratorRevision = 2;

// The trajectory's AdamW LR. At 1e-3 the first steps of a random tiny model overshoot (3.1 → 4.2) and the
// trajectory is chaotic: bf16 rounding moved it by 0.8 within 4 steps. At 3e-4 the loss falls smoothly and
// bf16-autocast stays within trajectory_vs_fp32_abs@bf16-autocast of the FP32 golden.
constexpr double kGoldenTrajectoryLr = 3e-4;

// "<CPU model>; <ISA oneDNN dispatches>; LibTorch <version>; <N> threads": what makes FP32 reruns
// bit-identical. The manifest records the generator's; the FP32 trajectory is held to trajectory_abs only on
// the same build.
std::string build_fingerprint();

struct GoldenSpec {
  std::string id;
  std::string description;
  Case c;
};
// The fixed list of golden cases (tiny on square and rectangular grids, batch 1–3, with and without E,
// DINOv2 hf and meta, DINOv3, projector on and off; one small case).
const std::vector<GoldenSpec>& golden_specs();

// The golden folder: $AMT_GOLDEN_DIR, ./golden, or golden/ above the executable. amt::IoError listing the
// places looked in when no manifest.json exists there.
std::string find_golden_dir();

// The 10-step training-loss trajectory (AdamW, eval mode so no dropout, fixed batch) under `policy`.
std::vector<double> golden_trajectory(const Case& c, const std::string& policy, int steps = 10);

struct GoldenLog {
  std::function<void(const std::string&)> line;  // progress lines (the CLI prints them)
};
// Writes manifest.json and cases/*.safetensors into `dir` (created if needed). Every case is run in FP32 and
// in FP64; amt::ValueError (and nothing written for it) when a case's FP32 outputs are further from FP64 than
// golden_fp32_vs_fp64_rel. Returns the manifest.
nlohmann::json generate_goldens(const std::string& dir, const GoldenLog& log = {});

// Checks every case file's sha256 against the manifest, re-runs every case in FP32 and compares each stored
// tensor with its stored tolerance, and re-runs the trajectory. One Outcome per case (and one for the
// trajectory), each failing check naming the tensor and its worst element.
struct GoldenVerify {
  std::vector<std::pair<std::string, Outcome>> cases;  // (id, outcome)
  bool ok() const;
};
GoldenVerify verify_goldens(const std::string& dir);
// One case of the manifest (by id) against its stored file.
Outcome verify_golden_case(const std::string& dir, const nlohmann::json& manifest, const std::string& id);
Outcome verify_golden_trajectory(const nlohmann::json& manifest);
// Reads manifest.json (amt::FormatError naming the file on bad JSON or a wrong format tag).
nlohmann::json read_golden_manifest(const std::string& dir);

}  // namespace amt::conformance
