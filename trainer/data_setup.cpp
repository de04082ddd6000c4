#include "trainer/data_setup.hpp"

#include <unistd.h>

#include <filesystem>
#include <numeric>
#include <sstream>

#include "reference/core/error.hpp"
#include "reference/data/dexycb_reader.hpp"
#include "reference/data/synth.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/sha256.hpp"

namespace amt::trainer {
namespace {

namespace fs = std::filesystem;

// A generated dataset is complete when its marker exists: generation writes into a temporary folder and
// renames it, so an interrupted generation is never mistaken for a dataset.
const char* const kCompleteMarker = ".amt-synth-complete";

// A number as it appears in a cache name: 0.15 → "0.15".
std::string number_tag(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string ensure_synthetic(const TrainConfig& c, const std::string& runs_dir,
                             const std::function<void(const std::string&)>& say) {
  const std::string root = synthetic_root(c, runs_dir);
  if (fs::is_regular_file(fs::path(root) / kCompleteMarker)) return root;
  data::SynthOptions so;
  so.sequences = static_cast<int>(c.synth_sequences);
  so.frames = static_cast<int>(c.synth_frames);
  so.seed = c.synth_seed;
  so.keep_labels = false;
  so.threads = static_cast<int>(c.decode_threads);
  say("data: generating the synthetic DexYCB dataset in " + root);
  const std::string tmp = root + ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  const data::SynthResult r = data::synthesize_dexycb(tmp, so);
  io::write_file_atomic((fs::path(tmp) / kCompleteMarker).string(), std::to_string(r.images) + " images\n");
  fs::remove_all(root, ec);
  fs::create_directories(fs::path(root).parent_path());
  fs::rename(tmp, root, ec);
  if (ec) throw IoError(root, "cannot rename " + tmp + ": " + ec.message());
  say("data: " + std::to_string(r.images) + " images (" + std::to_string(r.no_hand_images) +
      " without a hand)");
  return root;
}

data::CachedDataset cached_split(const std::string& root, const TrainConfig& c, const model::AmtConfig& mc,
                                 const std::string& split, int64_t limit, const std::string& cache_dir,
                                 std::string* cache_file,
                                 const std::function<void(const std::string&)>& say) {
  data::ResizeSpec resize;
  resize.q = mc.backbone.patch_size * mc.token_shuffle;
  resize.max_side = mc.max_side;
  // Hand crops: training keeps its jitter (the cache holds context crops), evaluation the ground-truth box.
  std::optional<vision::HandCropSpec> crop = run_hand_crop(c);
  if (crop && split != c.train_split) crop->jitter_shift = crop->jitter_scale = 0.0;
  const std::string shape = crop ? "crop" + std::to_string(crop->size) + "-m" + number_tag(crop->margin) +
                                       "-j" + number_tag(crop->jitter_shift) + "-" +
                                       number_tag(crop->jitter_scale)
                                 : "q" + std::to_string(resize.q) + "-max" + std::to_string(resize.max_side);
  const std::string name = "cache-" + c.setup + "-" + split + "-" + shape + "-" + c.image_storage +
                           (limit > 0 ? "-n" + std::to_string(limit) : "") + ".safetensors";
  *cache_file = (fs::path(cache_dir) / name).string();
  if (fs::is_regular_file(*cache_file)) {
    try {
      return data::CachedDataset::load(*cache_file);
    } catch (const Error& e) {
      say(std::string("data: rebuilding an unreadable cache (") + e.what() + ")");
    }
  }
  const data::DexYCBReader reader(root, data::parse_setup(c.setup), data::parse_split(split));
  if (reader.size() == 0)
    throw ConfigError("data: split " + c.setup + "/" + split + " of " + root + " is empty");
  std::vector<int64_t> indices;
  if (limit > 0 && limit < reader.size()) {
    indices.resize(static_cast<size_t>(limit));
    std::iota(indices.begin(), indices.end(), 0);
  }
  data::CacheOptions co;
  co.storage = data::parse_image_storage(c.image_storage);
  if (crop)
    co.crop = crop;
  else
    co.resize = resize;
  co.threads = static_cast<int>(c.decode_threads);
  say("data: preparing " + split + " (" + std::to_string(indices.empty() ? reader.size() : limit) +
      " images, " +
      (crop ? "hand crops of " + std::to_string(crop->size) + " px"
            : "max side " + std::to_string(resize.max_side) + ", q " + std::to_string(resize.q)) +
      ")");
  data::CachedDataset cache = data::CachedDataset::build(reader, co, indices);
  fs::create_directories(cache_dir);
  cache.save(*cache_file);
  return cache;
}

}  // namespace

double measure_crop_box_m(const data::CachedDataset& c) {
  const auto spec = c.hand_crop();
  if (!spec) throw ValueError("crop box size: the cache does not hold hand crops");
  if (c.size() == 0) throw ValueError("crop box size: the cache is empty");
  const torch::Tensor K = c.fields().at("K").to(torch::kFloat64);
  const torch::Tensor z = c.fields().at("joint_3d").to(torch::kFloat64).select(2, 2).mean(1);
  // The stored context crop's side covers the ground-truth box times the context factor.
  const double box_px = static_cast<double>(c.image_size(0).width) / data::hand_crop_context(*spec);
  const torch::Tensor f = (K.select(1, 0).select(1, 0) * K.select(1, 1).select(1, 1)).sqrt();
  return (box_px * z / f).median().item<double>();
}

std::string real_tree_cache_dir(const std::string& root, const std::string& runs_dir) {
  // Named by the tree's folder name (readable) and a hash of its absolute path (two trees called "dexycb"
  // must not share caches).
  fs::path path = fs::absolute(root).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();  // "dexycb/" is "dexycb"
  const std::string absolute = path.string();
  const std::string name = path.filename().string();
  return (fs::path(runs_dir) / "data" / ("cache-" + name + "-" + io::sha256_hex(absolute).substr(0, 12)))
      .string();
}

std::string synthetic_root(const TrainConfig& c, const std::string& runs_dir) {
  return (fs::path(runs_dir) / "data" /
          ("synth-seq" + std::to_string(c.synth_sequences) + "-f" + std::to_string(c.synth_frames) + "-seed" +
           std::to_string(c.synth_seed)))
      .string();
}

TrainData prepare_data(const TrainConfig& c, const model::AmtConfig& mc, const std::string& runs_dir,
                       const std::function<void(const std::string&)>& say) {
  TrainData d;
  d.synthetic = c.data.empty();
  d.root = d.synthetic ? ensure_synthetic(c, runs_dir, say) : c.data;
  if (!fs::is_directory(d.root)) throw IoError(d.root, "data.root: not a folder");
  const std::string cache_dir = d.synthetic ? d.root + "/amt-cache" : real_tree_cache_dir(d.root, runs_dir);
  d.train = cached_split(d.root, c, mc, c.train_split, c.max_train_samples, cache_dir, &d.train_cache, say);
  d.val = cached_split(d.root, c, mc, c.val_split, c.max_val_samples, cache_dir, &d.val_cache, say);
  return d;
}

}  // namespace amt::trainer
