// The trainer's data: a DexYCB tree (real, or the synthetic one generated on first use and reused after),
// read through the toolkit's splits, prepared once into cached datasets (DynamicResize with the model
// config's max side and q = patch × shuffle, aspect kept) and saved beside the data for the next run.
#pragma once
#include <functional>
#include <string>

#include "reference/data/cached_dataset.hpp"
#include "reference/model/amt_config.hpp"
#include "trainer/train_config.hpp"

namespace amt::trainer {

struct TrainData {
  std::string root;  // the DexYCB root used
  bool synthetic = false;
  data::CachedDataset train, val;
  std::string train_cache, val_cache;  // cache files (reused when present and readable)
};

// `runs_dir` is where a generated dataset and caches live (runs/data/...). Progress lines go to `say`.
TrainData prepare_data(const TrainConfig& config, const model::AmtConfig& model_config,
                       const std::string& runs_dir, const std::function<void(const std::string&)>& say);

// The metres a hand-crop box spans at the hand, median over a crop cache's samples: side·z / sqrt(fx·fy) of
// each ground-truth box, z the mean depth of the hand's joints (what data.crop_box_m: 0 resolves to).
double measure_crop_box_m(const data::CachedDataset& crops);

// Where the caches of a real DexYCB tree go: beside the runs (runs_dir/data), not into the (possibly
// read-only) dataset; one folder per tree, told apart by its absolute path.
std::string real_tree_cache_dir(const std::string& root, const std::string& runs_dir);

// The folder the synthetic dataset of these options lives in (under runs_dir/data).
std::string synthetic_root(const TrainConfig& config, const std::string& runs_dir);

}  // namespace amt::trainer
