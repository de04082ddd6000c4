#include "reference/vision/image_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"

namespace amt::vision {

namespace {

uint32_t big_endian(const uint8_t* p, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// Every frame header (SOF0..SOF15 except DHT C4, JPG C8, DAC CC: length, precision, height, width) anywhere
// in the bytes, and the largest height and width they declare. Conservative on purpose: libjpeg
// resynchronises after junk, zero-length segments and the like (found by fuzz_image: a segment walk that gave
// up on them let a 2 GB frame through), and scan data cannot hold these byte pairs (0xFF is stuffed as 0xFF
// 0x00), so a frame header libjpeg could use is among these.
std::optional<ImageSize> peek_jpeg(const uint8_t* b, size_t n) {
  std::optional<ImageSize> out;
  for (size_t i = 2; i + 9 <= n; ++i) {
    const uint8_t m = b[i + 1];
    if (b[i] != 0xFF || m < 0xC0 || m > 0xCF || m == 0xC4 || m == 0xC8 || m == 0xCC) continue;
    const ImageSize s{big_endian(b + i + 5, 2), big_endian(b + i + 7, 2)};
    out = out ? ImageSize{std::max(out->height, s.height), std::max(out->width, s.width)} : s;
  }
  return out;
}

}  // namespace

std::optional<ImageSize> peek_image_size(const uint8_t* b, size_t n) {
  if (n >= 4 && b[0] == 0xFF && b[1] == 0xD8) return peek_jpeg(b, n);
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (n >= 24 && std::memcmp(b, kPng, 8) == 0 && std::memcmp(b + 12, "IHDR", 4) == 0) {
    return ImageSize{big_endian(b + 20, 4), big_endian(b + 16, 4)};
  }
  return std::nullopt;
}

void check_encoded_image_side(const uint8_t* data, size_t size, const std::string& name) {
  if (const auto s = peek_image_size(data, size))
    check_image_side(s->height, s->width, name + ": image header");
}

cv::Mat decode_image(const std::vector<uint8_t>& bytes, const std::string& name) {
  if (bytes.empty()) throw FormatError(name, "", "empty file, not an image");
  check_encoded_image_side(bytes.data(), bytes.size(), name);
  cv::Mat bgr;
  try {
    bgr = cv::imdecode(bytes, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {  // some codecs throw on malformed data instead of returning empty
    throw FormatError(name, "", std::string("not a decodable image: ") + e.what());
  }
  if (bgr.empty()) throw FormatError(name, "", "not a decodable image (JPEG, PNG, ...)");
  check_image_side(bgr.rows, bgr.cols, name + ": decoded image");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

cv::Mat read_image(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError(path, "read failed");
  return decode_image(bytes, path);
}

}  // namespace amt::vision
