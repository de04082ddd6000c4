// V2: the token grid of one resized image. It is computed from the resized image's own size, never from a
// padded batch tensor:  (Hp, Wp) = (H/patch, W/patch),  (Gh, Gw) = (Hp/s, Wp/s),  Gh·Gw tokens after shuffle.
#pragma once
#include <cstdint>
#include <string>

#include "reference/vision/image_size.hpp"

namespace amt::vision {

struct ImageGrid {
  int64_t height = 0, width = 0;  // the resized image, pixels
  int64_t patch = 0;              // backbone patch size (14 DINOv2, 16 DINOv3)
  int64_t shuffle = 1;            // pixel-shuffle factor s
  int64_t hp = 0, wp = 0;         // patch grid (backbone tokens, without CLS/registers)
  int64_t gh = 0, gw = 0;         // grid after the shuffle

  int64_t patch_tokens() const { return hp * wp; }
  int64_t tokens() const { return gh * gw; }
  ImageSize size() const { return {height, width}; }
  bool operator==(const ImageGrid& o) const {
    return height == o.height && width == o.width && patch == o.patch && shuffle == o.shuffle && hp == o.hp &&
           wp == o.wp && gh == o.gh && gw == o.gw;
  }
  std::string str() const;  // "H×W px, patch P, s S → Hp×Wp → Gh×Gw"
};

// Throws amt::ConfigError for patch < 1 or s < 1, amt::ShapeError when H or W is not a multiple of the patch
// or when Hp or Wp is not divisible by s (the message names both numbers).
ImageGrid make_image_grid(int64_t height, int64_t width, int64_t patch, int64_t shuffle);
inline ImageGrid make_image_grid(ImageSize size, int64_t patch, int64_t shuffle) {
  return make_image_grid(size.height, size.width, patch, shuffle);
}

// The check that every consumer of a (Hp, Wp) grid makes before shuffling: Hp and Wp positive and divisible
// by s, else amt::ShapeError naming the numbers. `what` prefixes the message (who is asking).
void check_shuffle_grid(int64_t hp, int64_t wp, int64_t shuffle, const std::string& what);

}  // namespace amt::vision
