// Image decoding (JPEG, PNG, anything OpenCV's imgcodecs reads) to RGB uint8. Grey images become RGB, alpha
// is dropped, 16-bit images are reduced to 8 bits (OpenCV IMREAD_COLOR).
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reference/vision/image_size.hpp"

namespace amt::vision {

// The size a JPEG (the largest height and width of any frame header in it) or PNG (IHDR) declares, read
// without decoding; nullopt for other formats or when no header is found. Lets a decoder refuse a huge image before allocating it.
std::optional<ImageSize> peek_image_size(const uint8_t* data, size_t size);
// amt::LimitError (limits.hpp) naming `name` when the declared or decoded size exceeds the image-side
// ceiling: checked on the header before decoding, and on the decoded image.
void check_encoded_image_side(const uint8_t* data, size_t size, const std::string& name);

// Throws amt::FormatError naming `name` when the bytes are not a decodable image, amt::LimitError when the
// image exceeds the image-side ceiling.
cv::Mat decode_image(const std::vector<uint8_t>& bytes, const std::string& name);
// Throws amt::IoError when the file cannot be read, amt::FormatError when it is not a decodable image.
cv::Mat read_image(const std::string& path);

}  // namespace amt::vision
