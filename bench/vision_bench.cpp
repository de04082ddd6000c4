// Vision pipeline throughput: JPEG decode + DynamicResize + ImageNet normalisation of 640×480 images (the
// DexYCB frame size), each stage alone, and the 2-D pixel shuffle. Items/s = images/s.
#include <benchmark/benchmark.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "reference/vision/dynamic_resize.hpp"
#include "reference/vision/image_io.hpp"
#include "reference/vision/pixel_shuffle.hpp"
#include "reference/vision/preprocess.hpp"

namespace {

// A 640×480 JPEG with natural-image-like content (smooth gradients, shapes and mild noise) encoded in memory,
// so the decode cost resembles a camera frame rather than white noise.
const std::vector<uint8_t>& jpeg_640x480() {
  static const std::vector<uint8_t> bytes = [] {
    cv::Mat bgr(480, 640, CV_8UC3);
    for (int y = 0; y < bgr.rows; ++y)
      for (int x = 0; x < bgr.cols; ++x)
        bgr.at<cv::Vec3b>(y, x) =
            cv::Vec3b(static_cast<uint8_t>(x * 255 / 639), static_cast<uint8_t>(y * 255 / 479),
                      static_cast<uint8_t>((x + y) % 256));
    cv::circle(bgr, {320, 240}, 120, cv::Scalar(30, 200, 90), -1);
    cv::rectangle(bgr, {60, 50}, {220, 180}, cv::Scalar(200, 40, 40), -1);
    cv::Mat noise(bgr.size(), CV_8UC3);
    cv::RNG(7).fill(noise, cv::RNG::NORMAL, 0, 6);
    bgr += noise;
    std::vector<uint8_t> out;
    cv::imencode(".jpg", bgr, out, {cv::IMWRITE_JPEG_QUALITY, 90});
    return out;
  }();
  return bytes;
}

const amt::vision::Intrinsics kK{615.0, 615.0, 319.5, 239.5, 0.0};

// Args: patch, shuffle, max_side. 14/1/224: tiny config; 14/2/448: small; 16/2/640: DINOv3 at native 640×480.
void BM_DecodeResizeNormalize(benchmark::State& state) {
  const int64_t patch = state.range(0), s = state.range(1), max_side = state.range(2);
  const auto& bytes = jpeg_640x480();
  for (auto _ : state) {
    const cv::Mat rgb = amt::vision::decode_image(bytes, "bench.jpg");
    const amt::vision::Preprocessed p = amt::vision::preprocess_image(rgb, kK, patch, s, max_side, true);
    benchmark::DoNotOptimize(p.pixel_values.data_ptr());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["jpeg_bytes"] = static_cast<double>(bytes.size());
}
BENCHMARK(BM_DecodeResizeNormalize)
    ->Args({14, 1, 224})
    ->Args({14, 2, 448})
    ->Args({16, 2, 640})
    ->Unit(benchmark::kMillisecond);

void BM_Decode(benchmark::State& state) {
  const auto& bytes = jpeg_640x480();
  for (auto _ : state) benchmark::DoNotOptimize(amt::vision::decode_image(bytes, "bench.jpg").data);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);

void BM_Resize(benchmark::State& state) {
  const cv::Mat rgb = amt::vision::decode_image(jpeg_640x480(), "bench.jpg");
  const amt::vision::DynamicResize resize(state.range(0), state.range(1), true);
  for (auto _ : state) benchmark::DoNotOptimize(resize(rgb, kK).image.data);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Resize)->Args({14, 224})->Args({28, 448})->Unit(benchmark::kMillisecond);

void BM_Normalize(benchmark::State& state) {
  const cv::Mat rgb = amt::vision::decode_image(jpeg_640x480(), "bench.jpg");
  for (auto _ : state) benchmark::DoNotOptimize(amt::vision::normalize_image(rgb).data_ptr());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Normalize)->Unit(benchmark::kMillisecond);

// [8, 32·32, 384] → [8, 16·16, 1536]: a DINOv3-S batch at 512×512, in fp32 (fp32 policy) and bf16 (both bf16
// policies: the shuffle sees the backbone's output dtype). Arg: 0 fp32, 1 bf16.
void BM_PixelShuffle(benchmark::State& state) {
  const torch::Tensor x =
      torch::randn({8, 32 * 32, 384}).to(state.range(0) == 0 ? torch::kFloat : torch::kBFloat16);
  for (auto _ : state)
    benchmark::DoNotOptimize(amt::vision::pixel_shuffle_2d(x, 32, 32, 2).contiguous().data_ptr());
  state.SetItemsProcessed(state.iterations() * 8);
  state.SetBytesProcessed(state.iterations() * x.numel() * x.element_size());
}
BENCHMARK(BM_PixelShuffle)->ArgName("bf16")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
