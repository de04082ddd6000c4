// Resource ceilings: the most any one input may make a tool allocate. Every size that comes from a user or a
// file (image sides, patch tokens, tensor bytes) is checked against these before the allocation it implies,
// so a small file or a mistyped flag cannot ask for 30 GB. docs/robustness.md ("Limits").
//
//   ceiling            default   environment variable     what it bounds
//   max_image_side     8192      AMT_MAX_IMAGE_SIDE       decoded image sides and resize targets (max_side)
//   max_tokens         65536     AMT_MAX_TOKENS           patch tokens Hp × Wp of one image
//   max_tensor_bytes   4 GiB     AMT_MAX_TENSOR_BYTES     one tensor read from a file (npy, npz member,
//                                                         safetensors entry, cache image)
//
// The environment is read once, at the first use (a malformed value is an amt::ConfigError naming the
// variable); AMT_MAX_TENSOR_BYTES takes a byte count with an optional K, M or G suffix (powers of 1024).
// set_limits() replaces the ceilings for the whole process (tests; a tool with its own flag).
#pragma once
#include <cstdint>
#include <string>

#include "reference/core/error.hpp"

namespace amt {

struct Limits {
  int64_t max_image_side = 8192;
  int64_t max_tokens = 65536;
  int64_t max_tensor_bytes = int64_t{4} << 30;
};

// A size beyond a configured ceiling (limits.hpp). The message names the input, the size and the ceiling's
// environment variable.
class LimitError : public Error {
 public:
  using Error::Error;
};

// The process's ceilings: the defaults, overridden by the environment at the first call.
Limits limits();
void set_limits(const Limits& limits);
// The defaults overridden by AMT_MAX_IMAGE_SIDE, AMT_MAX_TOKENS, AMT_MAX_TENSOR_BYTES.
Limits limits_from_environment();

// LimitError "<what>: <height>x<width> exceeds the image-side ceiling N (AMT_MAX_IMAGE_SIDE)".
void check_image_side(int64_t height, int64_t width, const std::string& what);
// LimitError "<what>: N patch tokens exceed the ceiling M (AMT_MAX_TOKENS)".
void check_token_count(int64_t tokens, const std::string& what);
// LimitError "<what>: N bytes exceed the tensor-bytes ceiling M (AMT_MAX_TENSOR_BYTES)".
void check_tensor_bytes(int64_t bytes, const std::string& what);

// Sets the ceilings for one scope and restores the previous ones (tests).
class ScopedLimits {
 public:
  explicit ScopedLimits(const Limits& l) : saved_(limits()) { set_limits(l); }
  ~ScopedLimits() { set_limits(saved_); }
  ScopedLimits(const ScopedLimits&) = delete;
  ScopedLimits& operator=(const ScopedLimits&) = delete;

 private:
  Limits saved_;
};

}  // namespace amt
