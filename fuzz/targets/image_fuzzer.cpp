// libFuzzer target for the image path: decode (OpenCV imdecode behind the header peek and the image-side
// ceiling, reference/vision/image_io.cpp; and DexYCB's stricter colour-JPEG decoder), then DynamicResize +
// K rescale, ImageNet normalisation and the patch grid, for two configs. Every input either gives a
// [3, H', W'] tensor of finite values on a q-multiple grid or a typed amt::Error.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <string>
#include <vector>

#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"
#include "reference/data/dexycb_layout.hpp"
#include "reference/vision/dynamic_resize.hpp"
#include "reference/vision/image_grid.hpp"
#include "reference/vision/image_io.hpp"

namespace {

struct Config {
  int64_t patch, shuffle, max_side;
  bool upscale;
};

void resize_and_check(const cv::Mat& rgb, const Config& c) {
  const int64_t q = c.patch * c.shuffle;
  const amt::vision::DynamicResize resize(q, c.max_side, c.upscale);
  const amt::vision::ResizedImage r = resize(rgb, {500.0, 500.0, rgb.cols / 2.0, rgb.rows / 2.0, 0.0});
  const torch::Tensor x = amt::vision::normalize_image(r.image);
  const amt::vision::ImageGrid g = amt::vision::make_image_grid(r.size, c.patch, c.shuffle);
  if (x.size(1) != r.size.height || x.size(2) != r.size.width || r.size.height % q != 0 ||
      r.size.width % q != 0 || r.size.height > c.max_side || r.size.width > c.max_side ||
      g.hp * c.patch != x.size(1) || !torch::isfinite(x).all().item<bool>() || !std::isfinite(r.K.fx) ||
      !std::isfinite(r.K.cx)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Small ceilings keep each execution fast and within libFuzzer's memory limit; they are what is tested.
  amt::set_limits({2048, 65536, int64_t{256} << 20});
  cv::setNumThreads(0);
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);  // codecs log every bad input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  cv::Mat rgb;
  try {
    rgb = amt::vision::decode_image(bytes, "fuzz.jpg");
  } catch (const amt::Error&) {
  }
  try {
    const cv::Mat strict =
        amt::data::decode_color_image(std::string(bytes.begin(), bytes.end()), "color_000000.jpg");
    if (strict.type() != CV_8UC3) __builtin_trap();
  } catch (const amt::Error&) {
  }
  if (rgb.empty()) return 0;
  if (rgb.type() != CV_8UC3) __builtin_trap();
  for (const Config& c : {Config{14, 1, 224, true}, Config{16, 2, 128, false}}) {
    try {
      resize_and_check(rgb, c);
    } catch (const amt::Error&) {
    }
  }
  return 0;
}
