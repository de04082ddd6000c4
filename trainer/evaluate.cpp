#include "trainer/evaluate.hpp"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "reference/core/error.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/json_file.hpp"
#include "trainer/checkpoint.hpp"
#include "trainer/data_setup.hpp"
#include "trainer/predict.hpp"
#include "trainer/train_config.hpp"
#include "trainer/validation.hpp"

namespace amt::trainer {
namespace {

namespace fs = std::filesystem;

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string markdown(const EvalResult& r, const TrainConfig& cfg, const std::string& split) {
  std::ostringstream md;
  md << "# Evaluation of " << r.checkpoint << "\n\n"
     << r.summary << "\n\n"
     << "| | |\n|---|---|\n"
     << "| checkpoint step | " << r.step << " |\n"
     << "| data | " << (cfg.data.empty() ? "the synthetic dataset" : cfg.data) << ", " << cfg.setup << "/"
     << split << " |\n"
     << "| policy | " << cfg.policy << " |\n"
     << "| input | "
     << (cfg.crop == "hand" ? "hand crops of " + std::to_string(cfg.crop_size) + " px" : "whole images")
     << " |\n\n"
     << "| metric | value |\n|---|---|\n";
  for (const auto& [k, v] : r.metrics) md << "| `" << k << "` | " << fixed(v, 4) << " |\n";
  return md.str();
}

}  // namespace

EvalResult evaluate_checkpoint(const EvalOptions& o, const std::function<void(const std::string&)>& say) {
  if (o.split != "val" && o.split != "test" && o.split != "train")
    throw ConfigError("--split: must be val, test or train, got '" + o.split + "'");
  EvalResult r;
  // The weights the run validated (EMA), eval mode, the run's policy unless overridden.
  InferenceModel im = load_for_inference(o.checkpoint, o.policy);
  r.checkpoint = im.checkpoint;
  r.step = im.step;
  TrainConfig cfg = im.config;
  if (!o.data.empty()) cfg.data = o.data;
  if (!o.setup.empty()) cfg.setup = o.setup;
  cfg.val_split = o.split;
  check_train_config(cfg);
  const model::AmtConfig& mc = im.model_config;

  // The data through the run's own preparation (the caches it made are reused); the mean-pose baseline
  // from the training split, as in the run.
  const TrainData data = prepare_data(cfg, mc, o.runs_dir, say);
  ValidationOptions vo;
  vo.batch_size = cfg.batch_size;
  vo.patch = mc.backbone.patch_size;
  vo.shuffle = mc.token_shuffle;
  vo.loss = cfg.loss;
  r.metrics = validate(*im.model, data.val, mean_pose(data.train), im.policy, vo);

  const auto m = [&](const char* k) { return r.metrics.count(k) ? r.metrics.at(k) : std::nan(""); };
  const std::string name = fs::path(r.checkpoint).filename().string();
  r.summary = "eval " + name + " (" + cfg.setup + "/" + o.split + ", " + fixed(m("val_frames"), 0) +
              " frames, " + cfg.policy + "): MPJPE " + fixed(m("val_mpjpe_mm"), 2) +
              " mm (mean-pose baseline " + fixed(m("baseline_mpjpe_mm"), 2) + " mm, " +
              fixed(100.0 * m("val_mpjpe_mm") / m("baseline_mpjpe_mm"), 1) + " %), root-relative " +
              fixed(m("val_rr_mpjpe_mm"), 2) + " mm (baseline " + fixed(m("baseline_rr_mpjpe_mm"), 2) +
              " mm), PA-MPJPE " + fixed(m("val_pa_mpjpe_mm"), 2) + " mm, 2-D PCK@5px " +
              fixed(m("val_pck2d_5px"), 3);

  const std::string out = o.out.empty() ? r.checkpoint : o.out;
  fs::create_directories(out);
  const std::string stem = (fs::path(out) / ("eval-" + cfg.setup + "-" + o.split)).string();
  nlohmann::json j;
  j["checkpoint"] = r.checkpoint;
  j["step"] = r.step;
  j["data"] = cfg.data.empty() ? data.root : cfg.data;
  j["setup"] = cfg.setup;
  j["split"] = o.split;
  j["policy"] = cfg.policy;
  j["crop"] = cfg.crop;
  for (const auto& [k, v] : r.metrics)
    j["metrics"][k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
  j["summary"] = r.summary;
  r.json_file = stem + ".json";
  r.markdown_file = stem + ".md";
  io::write_file_atomic(r.json_file, j.dump(2) + "\n");
  io::write_file_atomic(r.markdown_file, markdown(r, cfg, o.split));
  return r;
}

}  // namespace amt::trainer
