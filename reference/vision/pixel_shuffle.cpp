#include "reference/vision/pixel_shuffle.hpp"

#include <cmath>

#include "reference/core/checked.hpp"
#include "reference/core/error.hpp"
#include "reference/precision/faults.hpp"
#include "reference/vision/image_grid.hpp"

namespace amt::vision {
namespace {

const FaultRegistration kFaultSquareOnly{
    "vision.shuffle_square_only",
    "seed 004 pitfall 1: the image grid is not passed to the projector, which falls back to the square-only "
    "pixel shuffle and fails (AssertionError) on every rectangular grid"};

void check_tokens(const torch::Tensor& x, const char* who) {
  if (x.dim() != 3)
    throw ShapeError(std::string(who) + ": expected tokens [B, N, C], got " + c10::str(x.sizes()));
}

}  // namespace

torch::Tensor pixel_shuffle_2d(const torch::Tensor& x, int64_t hp, int64_t wp, int64_t shuffle) {
  check_tokens(x, "pixel_shuffle_2d");
  if (kFaultSquareOnly.on()) return pixel_shuffle_square_upstream(x, shuffle);
  check_shuffle_grid(hp, wp, shuffle, "pixel_shuffle_2d");
  const int64_t b = x.size(0), n = x.size(1), c = x.size(2);
  if (n != checked_mul(hp, wp, "pixel_shuffle_2d: Hp × Wp")) {
    throw ShapeError("pixel_shuffle_2d: " + std::to_string(n) +
                     " tokens do not fill the patch grid Hp x Wp = " + std::to_string(hp) + "x" +
                     std::to_string(wp) + " = " + std::to_string(hp * wp));
  }
  const int64_t s = shuffle, gh = hp / s, gw = wp / s;
  // [B, (i dy), (j dx), C] → [B, i, j, dy, dx, C]: the closed form above, element for element.
  return x.reshape({b, gh, s, gw, s, c}).permute({0, 1, 3, 2, 4, 5}).reshape({b, gh * gw, s * s * c});
}

torch::Tensor pixel_unshuffle_2d(const torch::Tensor& y, int64_t hp, int64_t wp, int64_t shuffle) {
  check_tokens(y, "pixel_unshuffle_2d");
  check_shuffle_grid(hp, wp, shuffle, "pixel_unshuffle_2d");
  const int64_t s = shuffle, gh = hp / s, gw = wp / s;
  const int64_t b = y.size(0), n = y.size(1), cs = y.size(2);
  if (n != checked_mul(gh, gw, "pixel_unshuffle_2d: Gh × Gw")) {
    throw ShapeError("pixel_unshuffle_2d: " + std::to_string(n) +
                     " tokens do not fill the shuffled grid Gh x Gw = " + std::to_string(gh) + "x" +
                     std::to_string(gw) + " = " + std::to_string(gh * gw));
  }
  const int64_t s2 = checked_mul(s, s, "pixel_unshuffle_2d: s²");
  if (cs % s2 != 0) {
    throw ShapeError("pixel_unshuffle_2d: channel count " + std::to_string(cs) +
                     " is not divisible by s^2 = " + std::to_string(s2));
  }
  const int64_t c = cs / s2;
  return y.reshape({b, gh, gw, s, s, c}).permute({0, 1, 3, 2, 4, 5}).reshape({b, hp * wp, c});
}

torch::Tensor pixel_shuffle_square_upstream(const torch::Tensor& x, int64_t shuffle) {
  check_tokens(x, "pixel_shuffle_square_upstream");
  const int64_t b = x.size(0), n = x.size(1), c = x.size(2);
  const auto r = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
  if (r * r != n) {
    throw ShapeError("pixel_shuffle (square only): sequence length " + std::to_string(n) +
                     " is not a square");
  }
  if (shuffle < 1 || r % shuffle != 0) {
    throw ShapeError("pixel_shuffle (square only): side " + std::to_string(r) +
                     " is not divisible by s=" + std::to_string(shuffle));
  }
  const int64_t s = shuffle, g = r / s;
  return x.reshape({b, g, s, g, s, c}).permute({0, 1, 3, 2, 4, 5}).reshape({b, g * g, s * s * c});
}

}  // namespace amt::vision
