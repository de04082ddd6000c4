// An image size in pixels, always (height, width) in that order, like tensors [C,H,W].
#pragma once
#include <cstdint>
#include <string>

namespace amt::vision {

struct ImageSize {
  int64_t height = 0;
  int64_t width = 0;

  bool operator==(const ImageSize& o) const { return height == o.height && width == o.width; }
  bool operator!=(const ImageSize& o) const { return !(*this == o); }
  bool operator<(const ImageSize& o) const {
    return height != o.height ? height < o.height : width < o.width;
  }
  std::string str() const { return std::to_string(height) + "x" + std::to_string(width); }
};

}  // namespace amt::vision
