#include "reference/core/limits.hpp"

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace amt {
namespace {

// Parsed once; atomics so that loader threads may read while a test sets them.
struct State {
  std::once_flag from_env;
  std::atomic<int64_t> image_side{0}, tokens{0}, tensor_bytes{0};
};

State& state() {
  static State s;
  return s;
}

void store(const Limits& l) {
  State& s = state();
  s.image_side.store(l.max_image_side);
  s.tokens.store(l.max_tokens);
  s.tensor_bytes.store(l.max_tensor_bytes);
}

void ensure_loaded() {
  std::call_once(state().from_env, [] { store(limits_from_environment()); });
}

// A positive integer, with an optional K/M/G suffix (× 1024^k) where `suffixes` allows it.
int64_t parse_env(const char* name, int64_t fallback, bool suffixes) {
  const char* raw = std::getenv(name);
  if (raw == nullptr || *raw == '\0') return fallback;
  const std::string text = raw;
  const auto bad = [&]() {
    return ConfigError(std::string(name) + "='" + text + "': expected a positive integer" +
                       (suffixes ? " (bytes; suffix K, M or G allowed)" : ""));
  };
  size_t i = 0;
  int64_t v = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, text[i] - '0', &v)) throw bad();
  }
  if (i == 0) throw bad();
  int shift = 0;
  if (i < text.size() && suffixes) {
    const char c = text[i++];
    shift = c == 'K' || c == 'k' ? 10 : c == 'M' || c == 'm' ? 20 : c == 'G' || c == 'g' ? 30 : -1;
    if (shift < 0) throw bad();
  }
  if (i != text.size() || v < 1) throw bad();
  if (shift > 0 && v > (INT64_MAX >> shift)) throw bad();
  return v << shift;
}

}  // namespace

Limits limits_from_environment() {
  const Limits d;
  Limits l;
  l.max_image_side = parse_env("AMT_MAX_IMAGE_SIDE", d.max_image_side, false);
  l.max_tokens = parse_env("AMT_MAX_TOKENS", d.max_tokens, false);
  l.max_tensor_bytes = parse_env("AMT_MAX_TENSOR_BYTES", d.max_tensor_bytes, true);
  return l;
}

Limits limits() {
  ensure_loaded();
  const State& s = state();
  return {s.image_side.load(), s.tokens.load(), s.tensor_bytes.load()};
}

void set_limits(const Limits& l) {
  if (l.max_image_side < 1 || l.max_tokens < 1 || l.max_tensor_bytes < 1) {
    throw ConfigError("set_limits: every ceiling must be >= 1");
  }
  ensure_loaded();  // so a later first use does not overwrite these with the environment's
  store(l);
}

void check_image_side(int64_t height, int64_t width, const std::string& what) {
  const int64_t m = limits().max_image_side;
  if (height > m || width > m) {
    throw LimitError(what + ": " + std::to_string(height) + "x" + std::to_string(width) +
                     " exceeds the image-side ceiling " + std::to_string(m) + " (AMT_MAX_IMAGE_SIDE)");
  }
}

void check_token_count(int64_t tokens, const std::string& what) {
  const int64_t m = limits().max_tokens;
  if (tokens > m) {
    throw LimitError(what + ": " + std::to_string(tokens) + " patch tokens exceed the ceiling " +
                     std::to_string(m) + " (AMT_MAX_TOKENS)");
  }
}

void check_tensor_bytes(int64_t bytes, const std::string& what) {
  const int64_t m = limits().max_tensor_bytes;
  if (bytes > m) {
    throw LimitError(what + ": " + std::to_string(bytes) + " bytes exceed the tensor-bytes ceiling " +
                     std::to_string(m) + " (AMT_MAX_TENSOR_BYTES)");
  }
}

}  // namespace amt
