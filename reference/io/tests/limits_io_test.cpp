// The tensor-bytes ceiling (reference/core/limits.hpp) in every file reader: an array that would need more
// than the ceiling is a one-line amt::LimitError naming the file and the array, before anything is allocated.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "conformance/testing/scratch_dir.hpp"
#include "reference/core/limits.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/npy.hpp"
#include "reference/io/npz.hpp"
#include "reference/io/safetensors.hpp"

namespace amt::io {
namespace {

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string npy_with_header_only(const std::string& dict) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string file = std::string("\x93NUMPY\x01\x00", 8);
  file += static_cast<char>(header.size() & 0xff);
  file += static_cast<char>(header.size() >> 8);
  return file + header;
}

// 70000 × 70000 float64 = 39.2 GB, declared by a 128-byte file: refused as too large, not "truncated" (and
// never allocated), whatever data follows.
TEST(LimitsIo, NpyArrayAboveTheCeilingIsALimitErrorNamingFileAndField) {
  const std::string file =
      npy_with_header_only("{'descr': '<f8', 'fortran_order': False, 'shape': (70000, 70000), }");
  try {
    parse_npy(file.data(), file.size(), "big.npy", "pose");
    FAIL() << "no error";
  } catch (const LimitError& e) {
    EXPECT_TRUE(has(e.what(), "big.npy [pose]: npy array [70000, 70000]")) << e.what();
    EXPECT_TRUE(has(e.what(), "39200000000 bytes exceed the tensor-bytes ceiling")) << e.what();
  }
}

TEST(LimitsIo, NpyWideningCountsTheWidenedBytes) {
  // u4 widens to int64: 100 stored bytes become 200.
  const std::string file = encode_npy(torch::zeros({25}, torch::kInt32));
  std::string u4 = file;
  u4.replace(u4.find("<i4"), 3, "<u4");
  ScopedLimits scope({8192, 65536, 150});
  EXPECT_THROW(parse_npy(u4.data(), u4.size(), "u.npy", "x"), LimitError);
  EXPECT_NO_THROW(parse_npy(file.data(), file.size(), "i.npy", "x"));
}

// A zip member that inflates beyond the ceiling is refused from its declared size, before inflating.
TEST(LimitsIo, NpzMemberAboveTheCeilingIsRefusedBeforeInflating) {
  const std::string archive = encode_npz({{"seg", torch::zeros({300, 400}, torch::kUInt8)}}, {});
  ASSERT_LT(archive.size(), 4000u);  // compresses to a few hundred bytes
  const Limits small{8192, 65536, 50000};
  ScopedLimits scope(small);
  const NpzReader npz(archive, "labels.npz");
  try {
    npz.read("seg");
    FAIL() << "no error";
  } catch (const LimitError& e) {
    EXPECT_TRUE(has(e.what(), "labels.npz [seg]: zip member inflates to")) << e.what();
    EXPECT_TRUE(has(e.what(), "AMT_MAX_TENSOR_BYTES")) << e.what();
  }
}

TEST(LimitsIo, SafetensorsCopyAboveTheCeilingIsALimitError) {
  const ScratchDir scratch;
  const std::string path = scratch.file("limits.safetensors");
  write_safetensors(path, {{"w", torch::zeros({64, 64})}});
  const std::string bytes = read_file_bytes(path);
  EXPECT_NO_THROW(parse_safetensors(bytes.data(), bytes.size(), "w.safetensors"));
  ScopedLimits scope({8192, 65536, 1000});
  try {
    parse_safetensors(bytes.data(), bytes.size(), "w.safetensors");
    FAIL() << "no error";
  } catch (const LimitError& e) {
    EXPECT_TRUE(has(e.what(), "w.safetensors [w]: tensor: 16384 bytes exceed")) << e.what();
  }
}

}  // namespace
}  // namespace amt::io
