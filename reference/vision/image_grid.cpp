#include "reference/vision/image_grid.hpp"

#include "reference/core/checked.hpp"
#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"

namespace amt::vision {

std::string ImageGrid::str() const {
  return std::to_string(height) + "x" + std::to_string(width) + " px, patch " + std::to_string(patch) +
         ", s " + std::to_string(shuffle) + " -> Hp x Wp = " + std::to_string(hp) + "x" + std::to_string(wp) +
         " -> Gh x Gw = " + std::to_string(gh) + "x" + std::to_string(gw);
}

void check_shuffle_grid(int64_t hp, int64_t wp, int64_t shuffle, const std::string& what) {
  if (shuffle < 1) throw ConfigError(what + ": shuffle factor must be >= 1, got " + std::to_string(shuffle));
  if (hp < 1 || wp < 1) {
    throw ShapeError(what + ": patch grid (Hp=" + std::to_string(hp) + ", Wp=" + std::to_string(wp) +
                     ") must be positive");
  }
  if (hp % shuffle != 0 || wp % shuffle != 0) {
    throw ShapeError(what + ": patch grid (Hp=" + std::to_string(hp) + ", Wp=" + std::to_string(wp) +
                     ") is not divisible by the shuffle factor s=" + std::to_string(shuffle));
  }
}

ImageGrid make_image_grid(int64_t height, int64_t width, int64_t patch, int64_t shuffle) {
  if (patch < 1) throw ConfigError("image grid: patch size must be >= 1, got " + std::to_string(patch));
  if (shuffle < 1)
    throw ConfigError("image grid: shuffle factor must be >= 1, got " + std::to_string(shuffle));
  if (height < 1 || width < 1 || height % patch != 0 || width % patch != 0) {
    throw ShapeError("image grid: image " + std::to_string(height) + "x" + std::to_string(width) +
                     " is not a positive multiple of the patch size " + std::to_string(patch));
  }
  ImageGrid g;
  g.height = height;
  g.width = width;
  g.patch = patch;
  g.shuffle = shuffle;
  g.hp = height / patch;
  g.wp = width / patch;
  const std::string what = "image grid of " + std::to_string(height) + "x" + std::to_string(width);
  check_token_count(checked_mul(g.hp, g.wp, what + ": Hp × Wp"), what + " at patch " + std::to_string(patch));
  check_shuffle_grid(g.hp, g.wp, shuffle, what);
  g.gh = g.hp / shuffle;
  g.gw = g.wp / shuffle;
  return g;
}

}  // namespace amt::vision
