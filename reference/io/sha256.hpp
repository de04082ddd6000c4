// SHA-256 (FIPS 180-4), for the golden manifest's file and weight hashes. Incremental: update() any number of
// times, then hex() once.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace amt::io {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(const std::string& s) { update(s.data(), s.size()); }
  std::string hex();  // finalises; lower-case, 64 characters

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t used_ = 0;
  uint64_t bits_ = 0;
};

std::string sha256_hex(const std::string& bytes);
// amt::IoError naming the file when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace amt::io
