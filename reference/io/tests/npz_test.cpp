#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "conformance/testing/scratch_dir.hpp"
#include "reference/core/error.hpp"
#include "reference/io/npz.hpp"

namespace {

using amt::FormatError;
using amt::io::encode_npz;
using amt::io::NpzArrays;
using amt::io::NpzReader;

torch::Tensor random_tensor(const std::vector<int64_t>& shape, torch::ScalarType dtype, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  if (dtype == torch::kBool) return torch::randint(0, 2, shape, gen, torch::kLong).to(dtype);
  if (dtype == torch::kByte) return torch::randint(0, 256, shape, gen, torch::kLong).to(dtype);
  if (dtype == torch::kLong) return torch::randint(-1000000, 1000000, shape, gen, torch::kLong);
  return torch::randn(shape, gen, torch::kDouble).to(dtype);
}

const std::vector<torch::ScalarType> kDtypes = {torch::kFloat, torch::kDouble, torch::kHalf,
                                                torch::kLong,  torch::kByte,   torch::kBool};

// A DexYCB-like labels archive.
NpzArrays labels_like(uint64_t seed) {
  return {{"seg", random_tensor({48, 64}, torch::kByte, seed)},
          {"pose_y", random_tensor({3, 3, 4}, torch::kFloat, seed + 1)},
          {"pose_m", random_tensor({1, 51}, torch::kFloat, seed + 2)},
          {"joint_3d", random_tensor({1, 21, 3}, torch::kFloat, seed + 3)},
          {"joint_2d", random_tensor({1, 21, 2}, torch::kFloat, seed + 4)}};
}

RC_GTEST_PROP(NpzProperty, RoundTripsArraysInOrder,
              (uint64_t seed, bool compress, bool fortran, bool big_endian)) {
  const auto count = *rc::gen::inRange(1, 5);
  NpzArrays arrays;
  for (int i = 0; i < count; ++i) {
    const auto rank = *rc::gen::inRange(0, 4);
    const auto shape =
        *rc::gen::container<std::vector<int64_t>>(static_cast<size_t>(rank), rc::gen::inRange<int64_t>(0, 7));
    const auto dtype = *rc::gen::elementOf(kDtypes);
    arrays.emplace_back("a" + std::to_string(count - i),
                        random_tensor(shape, dtype, seed + static_cast<uint64_t>(i)));
  }
  amt::io::NpzWriteOptions opt;
  opt.compress = compress;
  opt.npy.fortran_order = fortran;
  opt.npy.big_endian = big_endian;
  const std::string bytes = encode_npz(arrays, opt);
  const NpzReader reader(bytes, "mem.npz");
  RC_ASSERT(reader.names().size() == arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) {
    RC_ASSERT(reader.names()[i] == arrays[i].first);
    const torch::Tensor back = reader.read(arrays[i].first);
    RC_ASSERT(back.scalar_type() == arrays[i].second.scalar_type());
    RC_ASSERT(torch::equal(back, arrays[i].second));
  }
}

RC_GTEST_PROP(NpzProperty, AnyTruncationIsAFormatErrorNamingTheFile, (uint64_t seed, bool compress)) {
  amt::io::NpzWriteOptions opt;
  opt.compress = compress;
  const std::string bytes = encode_npz(labels_like(seed), opt);
  const auto cut = *rc::gen::inRange<size_t>(0, bytes.size());
  try {
    const NpzReader reader(bytes.substr(0, cut), "cut.npz");
    for (const auto& n : {"seg", "pose_y", "pose_m", "joint_3d", "joint_2d"}) reader.read(n);
    RC_FAIL("a truncated npz was read completely");
  } catch (const FormatError& e) {
    RC_ASSERT(e.file() == "cut.npz");
  }
}

// Flipping any byte must never crash or throw anything but FormatError; flips inside member data must be
// caught (by the CRC or the npy checks), never return silently different arrays.
RC_GTEST_PROP(NpzProperty, ByteFlipsAreFormatErrorsOrHarmless, (uint64_t seed, bool compress)) {
  amt::io::NpzWriteOptions opt;
  opt.compress = compress;
  const NpzArrays arrays = labels_like(seed);
  std::string bytes = encode_npz(arrays, opt);
  const auto pos = *rc::gen::inRange<size_t>(0, bytes.size());
  const auto mask = *rc::gen::inRange<int>(1, 256);
  bytes[pos] = static_cast<char>(bytes[pos] ^ mask);
  try {
    const NpzReader reader(bytes, "flip.npz");
    for (const auto& [name, tensor] : arrays) {
      const torch::Tensor back = reader.read(name);
      RC_ASSERT(torch::equal(back, tensor));
    }
  } catch (const FormatError& e) {
    RC_ASSERT(e.file() == "flip.npz");
  }
}

TEST(Npz, MissingArrayNamesFileFieldAndWhatIsPresent) {
  const NpzReader reader(encode_npz(labels_like(1)), "labels_000000.npz");
  try {
    reader.read("joint_3D");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), "labels_000000.npz");
    EXPECT_EQ(e.field(), "joint_3D");
    EXPECT_NE(std::string(e.what()).find("joint_3d"), std::string::npos) << e.what();
  }
}

TEST(Npz, GarbageAndEmptyInputsAreFormatErrors) {
  EXPECT_THROW(NpzReader(std::string("definitely not a zip file at all"), "g.npz"), FormatError);
  EXPECT_THROW(NpzReader(std::string(), "e.npz"), FormatError);
}

TEST(Npz, StoredMemberWithBadNpyContentNamesTheArray) {
  amt::io::NpzWriteOptions opt;
  opt.compress = false;
  std::string bytes = encode_npz({{"joint_3d", torch::zeros({1, 21, 3})}}, opt);
  const size_t at = bytes.find("\x93NUMPY");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 1] = 'X';  // the CRC now mismatches too; either check must name the member
  const NpzReader reader(bytes, "l.npz");
  try {
    reader.read("joint_3d");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_EQ(e.field(), "joint_3d");
  }
}

TEST(Npz, CompressesAndIsDeterministic) {
  const NpzArrays arrays = {{"seg", torch::zeros({480, 640}, torch::kByte)}};
  const std::string a = encode_npz(arrays);
  EXPECT_LT(a.size(), 10000u);  // deflate really ran (raw is 307 KB)
  EXPECT_EQ(a, encode_npz(arrays));
  amt::io::NpzWriteOptions stored;
  stored.compress = false;
  EXPECT_GT(encode_npz(arrays, stored).size(), 307200u);
}

TEST(Npz, EmptyArchiveAndWriterErrors) {
  const NpzReader reader(encode_npz({}), "empty.npz");
  EXPECT_TRUE(reader.names().empty());
  EXPECT_THROW(encode_npz({{"a", torch::zeros({1})}, {"a", torch::zeros({1})}}), amt::ValueError);
  EXPECT_THROW(encode_npz({{"", torch::zeros({1})}}), amt::ValueError);
  EXPECT_THROW(encode_npz({{"b", torch::zeros({1}, torch::kBFloat16)}}), amt::DtypeError);
}

TEST(Npz, FileRoundTrip) {
  const amt::ScratchDir scratch;
  const std::string path = scratch.file("roundtrip.npz");
  const NpzArrays arrays = labels_like(7);
  amt::io::write_npz(path, arrays);
  const auto back = amt::io::read_npz(path);
  ASSERT_EQ(back.size(), arrays.size());
  for (const auto& [name, t] : arrays) EXPECT_TRUE(torch::equal(back.at(name), t)) << name;
  EXPECT_THROW(amt::io::read_npz(path + ".missing"), amt::IoError);
}

}  // namespace
