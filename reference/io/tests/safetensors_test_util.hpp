// Helpers shared by the safetensors test files: scratch folders, raw file building, bitwise comparison.
#pragma once
#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"

namespace amt::io::testing {

// A fresh folder, removed with everything in it when the test ends. It lives in /dev/shm where there is one
// (unless TMPDIR says otherwise) because the writer fsyncs, which costs tens of milliseconds per file on a
// disk and would make the property tests slow.
class ScratchDir {
 public:
  ScratchDir() {
    std::filesystem::path base = std::filesystem::temp_directory_path();
    if (std::getenv("TMPDIR") == nullptr && std::filesystem::is_directory("/dev/shm")) base = "/dev/shm";
    std::string tmpl = (base / "amt_io_test_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = tmpl;
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }
  // Names of everything in the folder (to spot leftover temporary files).
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write test file " + path);
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

inline std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// A file as the Python writer lays it out: length, header padded with spaces to a multiple of 8, data.
inline std::string st_file(std::string header, const std::string& data = "") {
  header.append((8 - header.size() % 8) % 8, ' ');
  return le64(header.size()) + header + data;
}

inline const std::vector<torch::ScalarType>& all_dtypes() {
  static const std::vector<torch::ScalarType> v = {
      torch::kFloat64, torch::kFloat32, torch::kFloat16, torch::kBFloat16, torch::kInt64,
      torch::kInt32,   torch::kInt16,   torch::kInt8,    torch::kUInt8,    torch::kBool};
  return v;
}

// Random bit patterns (NaN payloads, infinities and subnormals included), drawn from the current torch seed.
inline torch::Tensor random_bits(torch::ScalarType dtype, const std::vector<int64_t>& shape) {
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  if (dtype == torch::kBool)
    return torch::randint(0, 2, {numel}, torch::kUInt8).to(torch::kBool).reshape(shape);
  const int64_t elem = static_cast<int64_t>(c10::elementSize(dtype));
  return torch::randint(0, 256, {numel * elem}, torch::kUInt8).view(dtype).reshape(shape);
}

// The tensor's bytes in memory order, as uint8, so that NaNs compare by payload.
inline torch::Tensor bytes_of(const torch::Tensor& t) {
  return t.contiguous().reshape({-1}).view(torch::kUInt8);
}

inline ::testing::AssertionResult bit_equal(const torch::Tensor& got, const torch::Tensor& want) {
  if (got.scalar_type() != want.scalar_type())
    return ::testing::AssertionFailure() << "dtype " << got.scalar_type() << " != " << want.scalar_type();
  if (got.sizes() != want.sizes())
    return ::testing::AssertionFailure() << "shape " << got.sizes() << " != " << want.sizes();
  if (!torch::equal(bytes_of(got), bytes_of(want)))
    return ::testing::AssertionFailure()
           << "bytes differ for shape " << got.sizes() << " dtype " << got.scalar_type();
  return ::testing::AssertionSuccess();
}

}  // namespace amt::io::testing
