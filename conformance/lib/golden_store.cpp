#include "conformance/lib/golden_store.hpp"

#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "conformance/lib/budgets.hpp"
#include "conformance/lib/case_model.hpp"
#include "conformance/lib/compare.hpp"
#include "reference/core/build_info.hpp"
#include "reference/core/error.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/json_file.hpp"
#include "reference/io/project_dirs.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/io/sha256.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/cpu_isa.hpp"
#include "reference/precision/platform.hpp"
#include "reference/train/train_step.hpp"

namespace amt::conformance {

namespace fs = std::filesystem;
using precision::PrecisionPolicy;

namespace {
Case golden_case(const std::string& config, const std::string& backbone, int64_t shuffle, int64_t B,
                 int64_t H, int64_t W, bool with_e, uint64_t seed) {
  Case c;
  c.property = "golden.fp32";
  c.config = config;
  c.backbone = backbone;
  c.shuffle = shuffle;
  c.policy = "fp32";
  c.image_dtype = torch::kByte;
  c.k_dtype = torch::kFloat;
  c.with_e = with_e;
  c.e_dtype = torch::kFloat;
  c.label_dtype = torch::kFloat;
  c.batch = B;
  c.height = H;
  c.width = W;
  c.seed = seed;
  return c;
}

// First and last parameter with a gradient of every top-level part of the model (call after backward; the
// mask token, for one, gets none).
std::vector<std::string> gradient_names(model::AmtModelImpl& m) {
  std::vector<std::string> names;
  for (const char* part : {"encoder.backbone.", "encoder.proj", "projector.", "hand.", "objects.", "fusion.",
                           "contacts.", "refinement."}) {
    std::string first, last;
    for (const auto& item : m.named_parameters()) {
      if (item.key().rfind(part, 0) != 0 || !item.value().grad().defined()) continue;
      if (first.empty()) first = item.key();
      last = item.key();
    }
    if (!first.empty()) names.push_back(first);
    if (!last.empty() && last != first) names.push_back(last);
  }
  return names;
}

TensorMap run_golden(const Case& c, const TensorMap& batch, const std::string& policy_name) {
  const PrecisionPolicy policy = PrecisionPolicy::parse(policy_name);
  model::AmtModel& m = case_model(c, policy);
  const ModelRun run = run_model_with_gradients(c, batch, policy);
  const TensorMap& probes = run.probes;
  TensorMap t;
  for (const auto& [k, v] : batch) t["inputs/" + k] = v.contiguous();
  // Every probe the model promises (amt_probe_names, in execution order), and nothing else.
  const auto names = model::amt_probe_names(case_config(c), run.conformed.count("K") > 0);
  if (names.size() != probes.size()) {
    throw ValueError("golden: the model recorded " + std::to_string(probes.size()) +
                     " probes, amt_probe_names lists " + std::to_string(names.size()));
  }
  for (const std::string& name : names) {
    const auto it = probes.find(name);
    if (it == probes.end()) throw ValueError("golden: the model recorded no probe '" + name + "'");
    t["probes/" + name] = it->second.detach().contiguous();
  }
  for (const auto& [k, v] : run.outputs) t["outputs/" + k] = v.detach().contiguous();
  for (const auto& [k, v] : run.loss.terms) t["loss/" + k] = v.detach().contiguous();
  t["loss/total"] = run.loss.total.detach().contiguous();
  const auto params = m->named_parameters();
  for (const std::string& name : gradient_names(*m))
    t["grads/" + name] = params[name].grad().detach().clone();
  m->zero_grad();
  return t;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.numel() == 0) return 0.0;
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}
}  // namespace

std::string build_fingerprint() {
  // The CPU's ISA is part of it: two CPUs with one model name ("AMD EPYC") can dispatch different kernels.
  return precision::cpu_summary() + "; LibTorch " + libtorch_version() + "; " +
         std::to_string(at::get_num_threads()) + " threads";
}

const std::vector<GoldenSpec>& golden_specs() {
  static const std::vector<GoldenSpec> specs = {
      {"tiny-hf-56x56-b1", "tiny, DINOv2 hf, square 4x4 patches, batch 1, no E",
       golden_case("tiny", "dinov2-hf", 1, 1, 56, 56, false, 101)},
      {"tiny-hf-56x84-b2-e", "tiny, DINOv2 hf, 4x6 patches, batch 2, with E",
       golden_case("tiny", "dinov2-hf", 1, 2, 56, 84, true, 102)},
      {"tiny-meta-84x56-b3", "tiny, DINOv2 meta, portrait 6x4 patches, batch 3 (a frame without an object)",
       golden_case("tiny", "dinov2-meta", 1, 3, 84, 56, false, 103)},
      {"tiny-meta-70x98-b2-e", "tiny, DINOv2 meta, odd 5x7 patches, batch 2, with E",
       golden_case("tiny", "dinov2-meta", 1, 2, 70, 98, true, 104)},
      {"tiny-v3-64x96-b2", "tiny, DINOv3 (RoPE), 4x6 patches, batch 2",
       golden_case("tiny", "dinov3", 1, 2, 64, 96, false, 105)},
      {"tiny-v3-96x64-b1-e", "tiny, DINOv3, portrait 6x4 patches, batch 1, with E",
       golden_case("tiny", "dinov3", 1, 1, 96, 64, true, 106)},
      {"tiny-hf-s2-56x112-b2-e", "tiny, DINOv2 hf, token projector s=2 on 4x8 patches (2x4 tokens), with E",
       golden_case("tiny", "dinov2-hf", 2, 2, 56, 112, true, 107)},
      {"tiny-v3-s2-64x128-b3", "tiny, DINOv3, token projector s=2 on 4x8 patches, batch 3",
       golden_case("tiny", "dinov3", 2, 3, 64, 128, false, 108)},
      {"small-hf-112x154-b1-e", "small (DINOv2-S/14 shape), hf, 8x11 patches, batch 1, with E",
       golden_case("small", "dinov2-hf", 1, 1, 112, 154, true, 109)},
  };
  return specs;
}

std::string find_golden_dir() {
  std::string looked;
  for (const std::string& d : io::project_dirs("AMT_GOLDEN_DIR", "golden")) {
    std::error_code ec;
    if (fs::is_regular_file(fs::path(d) / "manifest.json", ec)) return d;
    looked += (looked.empty() ? "" : ", ") + d;
  }
  throw IoError("golden/manifest.json", "no golden store found (looked in " + looked +
                                            "; set AMT_GOLDEN_DIR or run amt_golden generate)");
}

std::vector<double> golden_trajectory(const Case& c, const std::string& policy_name, int steps) {
  const PrecisionPolicy policy = PrecisionPolicy::parse(policy_name);
  // A fresh model (training changes it): the cached ones stay as built.
  model::AmtModel m = model::make_amt_model(case_config(c), 0, policy);
  m->eval();
  torch::optim::AdamW opt(m->parameters(),
                          torch::optim::AdamWOptions(kGoldenTrajectoryLr).weight_decay(0.01));
  const TensorMap batch = precision::conform_batch(make_case_batch(c), policy);
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    losses.push_back(train::training_step(*m, opt, batch, train::LossWeights{}, policy, 1.0).loss);
  }
  return losses;
}

nlohmann::json generate_goldens(const std::string& dir, const GoldenLog& log) {
  const auto say = [&](const std::string& s) {
    if (log.line) log.line(s);
  };
  fs::create_directories(fs::path(dir) / "cases");
  const double factor = budget("golden_factor").limit, floor = budget("golden_floor").limit;
  const double refuse = budget("golden_fp32_vs_fp64_rel").limit;
  nlohmann::json cases = nlohmann::json::array();
  for (const GoldenSpec& spec : golden_specs()) {
    const TensorMap batch = make_case_batch(spec.c);
    const TensorMap f32 = run_golden(spec.c, batch, "fp32");
    const TensorMap f64 = run_golden(spec.c, batch, "fp64");
    nlohmann::json tol = nlohmann::json::object();
    double worst_rel = 0.0;
    std::string worst_name;
    for (const auto& [name, t] : f32) {
      if (name.rfind("inputs/", 0) == 0) continue;
      const double m = max_abs_diff(t, f64.at(name));
      if (name.rfind("outputs/", 0) == 0 || name == "loss/total") {
        const Measure r = rel_l2(t, f64.at(name));
        if (r.value > worst_rel) worst_rel = r.value, worst_name = name;
        if (r.value > refuse) {
          throw ValueError("amt_golden: refusing to write case " + spec.id + ": " + name +
                           " fp32 vs fp64 relative L2 " + std::to_string(r.value) + " > " +
                           std::to_string(refuse) + " (golden_fp32_vs_fp64_rel); " + r.detail);
        }
      }
      tol[name] = {{"atol", std::max(floor, factor * m)}, {"fp32_vs_fp64_max_abs", m}};
    }
    const std::string file = "cases/" + spec.id + ".safetensors";
    const std::string path = (fs::path(dir) / file).string();
    io::write_safetensors(path, f32,
                          {{"id", spec.id},
                           {"policy", "fp32"},
                           {"generator_revision", std::to_string(kGoldenGeneratorRevision)}});
    cases.push_back(
        {{"id", spec.id},
         {"description", spec.description},
         {"config", spec.c.config},
         {"policy", "fp32"},
         {"seed", spec.c.seed},
         {"case", case_to_json(spec.c)},
         {"input", describe(spec.c)},
         {"weights", "initialised from seed 0 (AmtModel + backbone), eval mode"},
         {"weights_sha256", case_weights_sha256(spec.c)},
         {"file", file},
         {"sha256", io::sha256_file(path)},
         {"bytes", fs::file_size(path)},
         {"fp32_vs_fp64_worst_rel_l2", worst_rel},
         {"fp32_vs_fp64_worst_output", worst_name},
         {"tolerance_reason", "atol per tensor = golden_factor (" + std::to_string(factor) +
                                  ") × its measured fp32-vs-fp64 max abs, at least golden_floor (" +
                                  std::to_string(floor) + "); rtol golden_rtol (" +
                                  std::to_string(budget("golden_rtol").limit) + ")"},
         {"tolerances", tol}});
    say(spec.id + ": " + std::to_string(f32.size()) + " tensors, fp32 vs fp64 worst rel L2 " +
        std::to_string(worst_rel) + " (" + worst_name + ")");
  }
  const GoldenSpec& traj = golden_specs().front();
  const std::vector<double> losses = golden_trajectory(traj.c, "fp32");
  const std::vector<double> losses64 = golden_trajectory(traj.c, "fp64");
  say("trajectory (" + traj.id + "): " + std::to_string(losses.front()) + " → " +
      std::to_string(losses.back()));
  nlohmann::json manifest = {
      {"format", "amt-golden-1"},
      {"generator_revision", kGoldenGeneratorRevision},
      {"libtorch", libtorch_version()},
      {"platform", precision::to_json(precision::platform())},
      {"build", build_fingerprint()},
      {"cases", cases},
      {"trajectory",
       {{"case", traj.id},
        {"policy", "fp32"},
        {"steps", losses.size()},
        {"optimizer", "AdamW lr 3e-4, betas (0.9, 0.999), eps 1e-8, weight decay 0.01; clip 1.0; eval mode"},
        {"losses", losses},
        {"fp64_losses", losses64},
        {"build", build_fingerprint()},
        {"tolerance", budget("trajectory_abs", "fp32").limit},
        {"tolerance_reason", budget("trajectory_abs", "fp32").reason},
        {"cross_build_tolerance", budget("trajectory_cross_build_abs", "fp32").limit},
        {"fp64_tolerance", budget("trajectory_fp64_abs", "fp64").limit}}}};
  const std::string mpath = (fs::path(dir) / "manifest.json").string();
  io::write_file_atomic(mpath, manifest.dump(1) + "\n");
  return manifest;
}

nlohmann::json read_golden_manifest(const std::string& dir) {
  const std::string path = (fs::path(dir) / "manifest.json").string();
  const nlohmann::json j = io::load_json_file(path);
  if (!j.is_object() || j.value("format", "") != "amt-golden-1")
    throw FormatError(path, "format", "not amt-golden-1");
  if (!j.contains("cases") || !j.at("cases").is_array()) throw FormatError(path, "cases", "missing");
  return j;
}

Outcome verify_golden_case(const std::string& dir, const nlohmann::json& manifest, const std::string& id) {
  Outcome o;
  const nlohmann::json* entry = nullptr;
  for (const auto& e : manifest.at("cases")) {
    if (e.value("id", "") == id) entry = &e;
  }
  if (!entry) throw ConfigError("golden case '" + id + "' is not in the manifest");
  const std::string path = (fs::path(dir) / entry->at("file").get<std::string>()).string();
  const std::string hash = io::sha256_file(path);
  o.require(hash == entry->at("sha256").get<std::string>(), id + " file hash", "exact",
            path + " has sha256 " + hash + ", the manifest says " + entry->at("sha256").get<std::string>());
  const Case c = case_from_json(entry->at("case"), dir + "/manifest.json [" + id + "]");
  const std::string weights = case_weights_sha256(c);
  o.require(weights == entry->at("weights_sha256").get<std::string>(), id + " weights hash", "exact",
            "the seed-0 weights on this machine hash to " + weights + ", the manifest's to " +
                entry->at("weights_sha256").get<std::string>() + " (regenerate with amt_golden generate)");
  const io::Safetensors file = io::read_safetensors(path);
  TensorMap batch;
  for (const auto& name : file.names) {
    if (name.rfind("inputs/", 0) == 0) batch[name.substr(7)] = file.at(name);
  }
  const TensorMap now = run_golden(c, batch, "fp32");
  const nlohmann::json& tol = entry->at("tolerances");
  for (const auto& name : file.names) {
    if (name.rfind("inputs/", 0) == 0) continue;
    const auto it = now.find(name);
    if (it == now.end()) {
      o.require(false, name, "exact", "stored in the golden but not produced by the model any more");
      continue;
    }
    CloseOptions opt;
    opt.rtol = budget("golden_rtol").limit;
    opt.atol = tol.contains(name) ? tol.at(name).at("atol").get<double>() : budget("golden_floor").limit;
    opt.name = id + " " + name;
    const CloseResult r = compare_close(it->second, file.at(name), opt);
    o.require(r.ok, name, "exact", r.ok ? "" : r.message());
  }
  for (const auto& [name, t] : now) {
    if (!file.has(name))
      o.require(false, name, "exact", "produced by the model but not in the golden (regenerate)");
  }
  return o;
}

Outcome verify_golden_trajectory(const nlohmann::json& manifest) {
  Outcome o;
  const nlohmann::json& t = manifest.at("trajectory");
  const std::string id = t.at("case").get<std::string>();
  const GoldenSpec* spec = nullptr;
  for (const GoldenSpec& s : golden_specs()) {
    if (s.id == id) spec = &s;
  }
  if (!spec) throw ConfigError("trajectory case '" + id + "' is not a golden case");
  // FP32 against the stored FP32 run: to trajectory_abs on the build that wrote it, to the cross-build budget
  // elsewhere (each check says which applied).
  const std::vector<double> want = t.at("losses").get<std::vector<double>>();
  const std::vector<double> got = golden_trajectory(spec->c, "fp32", static_cast<int>(want.size()));
  const std::string written_by =
      t.contains("build") ? t.at("build").get<std::string>() : "an unrecorded build";
  const bool same_build = written_by == build_fingerprint();
  const std::string quantity = same_build ? "trajectory_abs" : "trajectory_cross_build_abs";
  for (size_t i = 0; i < want.size(); ++i) {
    o.budget_check("trajectory step " + std::to_string(i), quantity, "fp32", std::abs(got[i] - want[i]),
                   "got " + std::to_string(got[i]) + " want " + std::to_string(want[i]) +
                       (same_build ? " (same build)" : " (golden written by " + written_by + ")"));
  }
  o.require(got.back() < got.front(), "trajectory loss decreases", "exact",
            "loss went " + std::to_string(got.front()) + " → " + std::to_string(got.back()));
  // FP64 against the stored FP64 run: reproducible across CPUs, so it is strict everywhere.
  if (t.contains("fp64_losses")) {
    const std::vector<double> want64 = t.at("fp64_losses").get<std::vector<double>>();
    const std::vector<double> got64 = golden_trajectory(spec->c, "fp64", static_cast<int>(want64.size()));
    for (size_t i = 0; i < want64.size(); ++i) {
      o.budget_check("fp64 trajectory step " + std::to_string(i), "trajectory_fp64_abs", "fp64",
                     std::abs(got64[i] - want64[i]),
                     "got " + std::to_string(got64[i]) + " want " + std::to_string(want64[i]));
    }
  }
  return o;
}

bool GoldenVerify::ok() const {
  for (const auto& [id, o] : cases) {
    if (!o.ok()) return false;
  }
  return true;
}

GoldenVerify verify_goldens(const std::string& dir) {
  const nlohmann::json manifest = read_golden_manifest(dir);
  GoldenVerify v;
  for (const auto& e : manifest.at("cases")) {
    const std::string id = e.at("id").get<std::string>();
    v.cases.emplace_back(id, verify_golden_case(dir, manifest, id));
  }
  v.cases.emplace_back("trajectory", verify_golden_trajectory(manifest));
  return v;
}

}  // namespace amt::conformance
