#include "reference/vision/image_io.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "reference/core/error.hpp"

namespace amt::vision {

cv::Mat decode_image(const std::vector<uint8_t>& bytes, const std::string& name) {
  if (bytes.empty()) throw FormatError(name, "", "empty file, not an image");
  cv::Mat bgr;
  try {
    bgr = cv::imdecode(bytes, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {  // some codecs throw on malformed data instead of returning empty
    throw FormatError(name, "", std::string("not a decodable image: ") + e.what());
  }
  if (bgr.empty()) throw FormatError(name, "", "not a decodable image (JPEG, PNG, ...)");
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
