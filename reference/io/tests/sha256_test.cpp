// SHA-256 against the FIPS 180-4 / NIST example vectors, incremental updates across block boundaries, files.
#include <gtest/gtest.h>

#include <fstream>

#include "conformance/testing/scratch_dir.hpp"
#include "reference/core/error.hpp"
#include "reference/io/sha256.hpp"

namespace amt::io {
namespace {

TEST(Sha256, NistVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShotAcrossBlockBoundaries) {
  std::string data;
  for (int i = 0; i < 300; ++i) data += static_cast<char>(i * 7 + 3);
  for (size_t split : {0, 1, 55, 56, 63, 64, 65, 128, 299}) {
    Sha256 h;
    h.update(data.substr(0, split));
    h.update(data.substr(split));
    EXPECT_EQ(h.hex(), sha256_hex(data)) << "split at " << split;
  }
}

TEST(Sha256, FileHashAndMissingFile) {
  const ScratchDir scratch;
  const std::string path = scratch.file("bytes.bin");
  std::ofstream(path, std::ios::binary) << "abc";
  EXPECT_EQ(sha256_file(path), sha256_hex("abc"));
  EXPECT_THROW(sha256_file(path + ".missing"), IoError);
}

}  // namespace
}  // namespace amt::io
