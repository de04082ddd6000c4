// Overflow-safe arithmetic for every size that comes from a user or a file (shapes in npy/safetensors
// headers, image sides, patch × shuffle, token counts): a product that does not fit in int64 is an error
// naming what was being computed, never a wrapped number that a later allocation or stride trusts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "reference/core/error.hpp"

namespace amt {

// a × b for a, b ≥ 0; amt::ValueError "<what>: a × b overflows int64" otherwise.
inline int64_t checked_mul(int64_t a, int64_t b, const std::string& what) {
  int64_t out = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &out)) {
    throw ValueError(what + ": " + std::to_string(a) + " × " + std::to_string(b) + " overflows int64");
  }
  return out;
}

// a + b for a, b ≥ 0; amt::ValueError on overflow.
inline int64_t checked_add(int64_t a, int64_t b, const std::string& what) {
  int64_t out = 0;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &out)) {
    throw ValueError(what + ": " + std::to_string(a) + " + " + std::to_string(b) + " overflows int64");
  }
  return out;
}

// The product of `dims`, each taken as at least 1 (what a contiguous tensor's largest stride is, so a zero
// extent does not hide an overflowing stride), times `scale` (e.g. the element size).
inline int64_t checked_stride_product(const std::vector<int64_t>& dims, int64_t scale,
                                      const std::string& what) {
  int64_t p = scale;
  for (int64_t d : dims) p = checked_mul(p, d < 1 ? 1 : d, what);
  return p;
}

}  // namespace amt
