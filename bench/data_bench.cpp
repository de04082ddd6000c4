// Data pipeline throughput: JPEG decode + DynamicResize (+ conversion to the cache's storage dtype) of
// 640×480 synthetic DexYCB frames, the per-image work of building the cache. Reported as images/s
// (items_per_second).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "reference/data/cached_dataset.hpp"
#include "reference/data/dexycb_layout.hpp"
#include "reference/data/synth.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/npz.hpp"

namespace {

using namespace amt::data;

// 16 encoded frames of one synthetic sequence, held in memory so the benchmark measures decoding, not the
// disk.
struct Frames {
  std::vector<std::string> jpg, npz;
  Frames() {
    const std::string root =
        std::filesystem::temp_directory_path().string() + "/amt_data_bench_" + std::to_string(::getpid());
    SynthOptions o;
    o.subjects = {0};
    o.sequences = 1;
    o.frames = 2;
    o.keep_labels = false;
    const SynthResult r = synthesize_dexycb(root, o);
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
      const std::string p = entry.path().string();
      if (p.size() > 4 && p.compare(p.size() - 4, 4, ".jpg") == 0) jpg.push_back(amt::io::read_file_bytes(p));
      if (p.size() > 4 && p.compare(p.size() - 4, 4, ".npz") == 0) npz.push_back(amt::io::read_file_bytes(p));
    }
    std::filesystem::remove_all(root);
  }
};
const Frames& frames() {
  static const Frames f;
  return f;
}

void BM_DecodeResize(benchmark::State& state) {
  const auto storage = static_cast<ImageStorage>(state.range(0));
  const int64_t max_side = state.range(1);
  const std::optional<ResizeSpec> resize =
      max_side > 0 ? std::optional<ResizeSpec>(ResizeSpec{14, max_side, true}) : std::nullopt;
  const ColorIntrinsics K{615.0, 615.0, 320.0, 240.0};
  const auto& f = frames();
  size_t i = 0;
  for (auto _ : state) {
    const cv::Mat rgb = decode_color_image(f.jpg[i++ % f.jpg.size()], "bench.jpg");
    benchmark::DoNotOptimize(prepare_image(rgb, K, resize, storage).image.data_ptr());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(image_storage_name(storage) +
                 (resize ? " max_side " + std::to_string(max_side) : " native"));
}
BENCHMARK(BM_DecodeResize)
    ->Args({static_cast<int>(ImageStorage::kUInt8), 224})
    ->Args({static_cast<int>(ImageStorage::kUInt8), 448})
    ->Args({static_cast<int>(ImageStorage::kUInt8), 0})
    ->Args({static_cast<int>(ImageStorage::kBFloat16), 224})
    ->Args({static_cast<int>(ImageStorage::kFloat32), 224})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();  // images/s by the wall clock: OpenCV may use helper threads

void BM_DecodeOnly(benchmark::State& state) {
  const auto& f = frames();
  size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(decode_color_image(f.jpg[i++ % f.jpg.size()], "bench.jpg").data);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeOnly)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_LabelsNpz(benchmark::State& state) {
  // The label arrays a training sample needs (seg left compressed).
  const auto& f = frames();
  size_t i = 0;
  for (auto _ : state) {
    const amt::io::NpzReader npz(f.npz[i++ % f.npz.size()], "bench.npz");
    for (const char* name : {"joint_3d", "joint_2d", "pose_y", "pose_m"})
      benchmark::DoNotOptimize(npz.read(name).data_ptr());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LabelsNpz)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
