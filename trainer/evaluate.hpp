// `amt_ref_train eval CHECKPOINT`: the validation metrics of docs/training.md §6 for any checkpoint — the
// run's own validation pass (trainer/validation.hpp: EMA weights, eval mode, the run's policy), on the
// run's data or another tree, split and setup — written as JSON and Markdown beside a one-line summary.
#pragma once
#include <functional>
#include <map>
#include <string>

namespace amt::trainer {

struct EvalOptions {
  std::string checkpoint;  // a checkpoint folder, or a run folder (its best checkpoint, else its latest)
  std::string data;        // a DexYCB root; "" = the run's own data
  std::string setup;       // "" = the run's
  std::string split = "val";
  std::string policy;             // "" = the run's
  std::string out;                // where eval-<setup>-<split>.{json,md} go; "" = the checkpoint folder
  std::string runs_dir = "runs";  // where the run's generated data and caches live
};

struct EvalResult {
  std::string checkpoint;  // the checkpoint folder evaluated
  int64_t step = 0;
  std::map<std::string, double> metrics;  // validate()'s keys
  std::string json_file, markdown_file;
  std::string summary;  // one line
};

EvalResult evaluate_checkpoint(const EvalOptions& options,
                               const std::function<void(const std::string&)>& say);

}  // namespace amt::trainer
