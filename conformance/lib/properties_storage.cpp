// storage (P4): the cached dataset on a synthetic DexYCB tree (written once per process into a scratch
// folder).
//   storage.cache_roundtrip  every label in the cache is exactly what the reader read (fp32, never through a
//                            lower precision; 2-D joints rescaled by the pixel-centre rule), and a save →
//                            load round trip restores every field's dtype and values (bool stays bool, int64
//                            int64), for uint8, bf16 and fp32 image storage, with and without resizing.
#include <unistd.h>

#include <torch/torch.h>

#include <filesystem>

#include "conformance/lib/gen_util.hpp"
#include "reference/data/cached_dataset.hpp"
#include "reference/data/dexycb_reader.hpp"
#include "reference/data/synth.hpp"

namespace amt::conformance {

namespace {
namespace fs = std::filesystem;

// One synthetic tree per process: subject 0, one sequence, two frames × 8 cameras (16 images).
const data::DexYCBReader& synthetic_reader() {
  static const std::string root = [] {
    const std::string base =
        ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : fs::temp_directory_path().string();
    const std::string dir = base + "/amt_storage_property_" + std::to_string(::getpid());
    fs::remove_all(dir);
    data::SynthOptions o;
    o.subjects = {0};
    o.sequences = 1;
    o.frames = 2;
    o.keep_labels = false;
    data::synthesize_dexycb(dir, o);
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(fs::path("/dev/shm") / ("amt_storage_property_" + std::to_string(::getpid())), ec);
      fs::remove_all(fs::temp_directory_path() / ("amt_storage_property_" + std::to_string(::getpid())), ec);
    });
    return dir;
  }();
  static const data::DexYCBReader reader(root, data::Setup::kS0, data::Split::kTrain);
  return reader;
}

rc::Gen<Case> gen_storage(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.property = "storage.cache_roundtrip";
    c.config = o.config;
    c.image_dtype = *rc::gen::element(torch::kByte, torch::kBFloat16, torch::kFloat);
    c.with_e = *rc::gen::arbitrary<bool>();  // resize on (DynamicResize to max_side) or off (native 640×480)
    c.batch = *rc::gen::inRange<int64_t>(1, 4);
    c.max_side = 14 * *rc::gen::inRange<int64_t>(2, 17);
    c.seed = draw_seed();
    return c;
  });
}

Outcome run_storage(const Case& c) {
  Outcome o;
  const data::DexYCBReader& reader = synthetic_reader();
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < c.batch; ++i)
    indices.push_back(static_cast<int64_t>((c.seed + 5 * i) % reader.size()));
  data::CacheOptions opt;
  opt.storage = c.image_dtype == torch::kByte       ? data::ImageStorage::kUInt8
                : c.image_dtype == torch::kBFloat16 ? data::ImageStorage::kBFloat16
                                                    : data::ImageStorage::kFloat32;
  if (c.with_e) opt.resize = data::ResizeSpec{14, c.max_side, true};
  const data::CachedDataset cache = data::CachedDataset::build(reader, opt, indices);
  // Labels: exactly as read (3-D joints and the grasped pose are not touched by a resize).
  for (size_t row = 0; row < indices.size(); ++row) {
    const data::Sample s = reader.load(indices[row]);
    const torch::Tensor j = cache.fields().at("joint_3d")[static_cast<int64_t>(row)];
    const Measure m = point_error(j, s.joint_3d, 1000.0);
    o.require(torch::equal(j, s.joint_3d.to(j.scalar_type())) && j.scalar_type() == torch::kFloat32,
              "joint_3d of sample " + std::to_string(indices[row]) + " stored exactly in fp32", "exact",
              std::to_string(m.value) + " mm off; " + m.detail);
    const torch::Tensor g = cache.fields().at("grasped_pose")[static_cast<int64_t>(row)];
    o.require(torch::equal(g, s.grasped_pose.to(g.scalar_type())), "grasped_pose stored exactly", "exact",
              worst_element(g, s.grasped_pose));
  }
  // Save → load: every field with its dtype and values.
  const std::string path = fs::temp_directory_path().string() + "/amt_storage_" + std::to_string(::getpid()) +
                           "_" + std::to_string(c.seed) + ".safetensors";
  cache.save(path);
  const data::CachedDataset back = data::CachedDataset::load(path);
  fs::remove(path);
  for (const auto& [name, t] : cache.fields()) {
    const auto it = back.fields().find(name);
    const bool dtype_ok = it != back.fields().end() && it->second.scalar_type() == t.scalar_type();
    o.require(
        dtype_ok, name + " dtype after a reload", "dtype",
        name + " was " + c10::toString(t.scalar_type()) + ", reloaded as " +
            (it == back.fields().end() ? std::string("(missing)") : c10::toString(it->second.scalar_type())));
    if (dtype_ok) {
      o.require(torch::equal(it->second, t), name + " values after a reload", "exact",
                worst_element(it->second, t));
    }
  }
  return o;
}
}  // namespace

std::vector<Property> storage_properties() {
  return {
      {"storage.cache_roundtrip",
       "storage",
       "the cached dataset stores labels exactly as read, in fp32, and a save/load round trip restores every "
       "field's dtype and values (uint8/bf16/fp32 images, with and without resizing)",
       {"exact", "dtype"},
       {{"data.labels_stored_bf16", "^joint_3d of sample .* stored exactly in fp32"},
        {"data.reload_casts_to_float", "^\\w+ dtype after a reload"}},
       6,
       gen_storage,
       run_storage}};
}

}  // namespace amt::conformance
