// Image decoding (JPEG, PNG, anything OpenCV's imgcodecs reads) to RGB uint8. Grey images become RGB, alpha
// is dropped, 16-bit images are reduced to 8 bits (OpenCV IMREAD_COLOR).
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace amt::vision {

// Throws amt::FormatError naming `name` when the bytes are not a decodable image.
cv::Mat decode_image(const std::vector<uint8_t>& bytes, const std::string& name);
// Throws amt::IoError when the file cannot be read, amt::FormatError when it is not a decodable image.
cv::Mat read_image(const std::string& path);

}  // namespace amt::vision
