#include "reference/data/tests/test_dataset.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <map>

#include "reference/io/safetensors.hpp"

namespace amt::data::testing {
namespace {

constexpr const char* kPrefix = "amt_data_fixture_small_";

std::string build_key() {
  struct stat st {};
  if (::stat("/proc/self/exe", &st) != 0) return "nokey";
  return std::to_string(static_cast<long long>(st.st_size)) + "_" +
         std::to_string(static_cast<long long>(st.st_mtime)) + "_" +
         std::to_string(static_cast<long long>(st.st_mtim.tv_nsec));
}

void save_manifest(const std::string& path, const SynthResult& r) {
  std::map<std::string, torch::Tensor> t;
  std::map<std::string, std::string> meta = {{"images", std::to_string(r.images)},
                                             {"no_hand_images", std::to_string(r.no_hand_images)},
                                             {"frames", std::to_string(r.frames.size())}};
  for (size_t i = 0; i < r.frames.size(); ++i) {
    const SynthFrame& f = r.frames[i];
    const std::string k = std::to_string(i) + ".";
    t[k + "joint_3d"] = f.labels.joint_3d;
    t[k + "joint_2d"] = f.labels.joint_2d;
    t[k + "pose_y"] = f.labels.pose_y;
    t[k + "pose_m"] = f.labels.pose_m;
    if (f.labels.seg.defined()) t[k + "seg"] = f.labels.seg;
    meta[k + "color_file"] = f.color_file;
    meta[k + "label_file"] = f.label_file;
    meta[k + "has_hand"] = f.has_hand ? "1" : "0";
  }
  for (const auto& [serial, K] : r.intrinsics) {
    t["K." + std::to_string(serial)] = torch::tensor({K.fx, K.fy, K.ppx, K.ppy}, torch::kFloat64);
  }
  io::write_safetensors(path, t, meta);
}

SynthResult load_manifest(const std::string& path) {
  const io::Safetensors st = io::read_safetensors(path);
  SynthResult r;
  r.images = std::stoll(st.metadata.at("images"));
  r.no_hand_images = std::stoll(st.metadata.at("no_hand_images"));
  const size_t n = std::stoul(st.metadata.at("frames"));
  for (size_t i = 0; i < n; ++i) {
    const std::string k = std::to_string(i) + ".";
    SynthFrame f;
    f.color_file = st.metadata.at(k + "color_file");
    f.label_file = st.metadata.at(k + "label_file");
    f.has_hand = st.metadata.at(k + "has_hand") == "1";
    // clone(): the reader may alias its file mapping; the manifest outlives nothing but this process.
    f.labels.joint_3d = st.at(k + "joint_3d").clone();
    f.labels.joint_2d = st.at(k + "joint_2d").clone();
    f.labels.pose_y = st.at(k + "pose_y").clone();
    f.labels.pose_m = st.at(k + "pose_m").clone();
    if (st.has(k + "seg")) f.labels.seg = st.at(k + "seg").clone();
    r.frames.push_back(std::move(f));
  }
  for (int serial = 0; serial < kNumSerials; ++serial) {
    const std::string k = "K." + std::to_string(serial);
    if (!st.has(k)) continue;
    const auto v = st.at(k);
    r.intrinsics[serial] =
        ColorIntrinsics{v[0].item<double>(), v[1].item<double>(), v[2].item<double>(), v[3].item<double>()};
  }
  return r;
}

SmallDataset make_small_dataset() {
  namespace fs = std::filesystem;
  const std::string scratch = scratch_root();
  const std::string name = kPrefix + build_key();
  const std::string dir = scratch + name;
  const std::string manifest = dir + "/manifest.safetensors";
  if (!fs::exists(manifest)) {
    const std::string tmp = dir + ".tmp." + std::to_string(::getpid());
    fs::remove_all(tmp);
    save_manifest(tmp + "/manifest.safetensors", synthesize_dexycb(tmp, small_options()));
    std::error_code ec;
    fs::rename(tmp, dir, ec);  // fails when another process published first: use theirs
    if (ec) fs::remove_all(tmp, ec);
    // Fixtures of older builds are dead weight in RAM.
    for (const auto& e : fs::directory_iterator(scratch, ec)) {
      const std::string other = e.path().filename().string();
      if (other.rfind(kPrefix, 0) == 0 && other != name && other.find(".tmp.") == std::string::npos) {
        fs::remove_all(e.path(), ec);
      }
    }
  }
  return SmallDataset{dir, load_manifest(manifest)};
}

}  // namespace

const SmallDataset& small_dataset() {
  static const SmallDataset d = make_small_dataset();
  return d;
}

}  // namespace amt::data::testing
