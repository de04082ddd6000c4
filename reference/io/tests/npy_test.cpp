#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <string>
#include <vector>

#include "conformance/testing/scratch_dir.hpp"
#include "reference/core/error.hpp"
#include "reference/io/npy.hpp"

namespace {

using amt::FormatError;
using amt::io::encode_npy;
using amt::io::NpyWriteOptions;
using amt::io::parse_npy;

const std::vector<torch::ScalarType> kWritable = {torch::kHalf, torch::kFloat, torch::kDouble,
                                                  torch::kChar, torch::kShort, torch::kInt,
                                                  torch::kLong, torch::kByte,  torch::kBool};

// A tensor of `dtype` drawn from `seed` (whole tensors at once; elements are never generated one by one).
torch::Tensor random_tensor(const std::vector<int64_t>& shape, torch::ScalarType dtype, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  const auto opts = torch::TensorOptions().dtype(torch::kLong);
  switch (dtype) {
    case torch::kHalf:
    case torch::kFloat:
    case torch::kDouble:
      return (torch::randn(shape, gen, torch::kDouble) * 1000).to(dtype);
    case torch::kBool:
      return torch::randint(0, 2, shape, gen, opts).to(dtype);
    case torch::kByte:
      return torch::randint(0, 256, shape, gen, opts).to(dtype);
    case torch::kChar:
      return torch::randint(-128, 128, shape, gen, opts).to(dtype);
    case torch::kShort:
      return torch::randint(-32768, 32768, shape, gen, opts).to(dtype);
    case torch::kInt:
      return torch::randint(INT32_MIN, INT32_MAX, shape, gen, opts).to(dtype);
    default:
      return torch::randint(INT64_MIN / 2, INT64_MAX / 2, shape, gen, opts);
  }
}

// The header exactly as NumPy ≥ 1.24 pads it (64-byte alignment), version 1.0.
std::string numpy_style(const std::string& dict, const std::string& data) {
  std::string header = dict;
  const size_t unpadded = 10 + header.size() + 1;
  header += std::string((64 - unpadded % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

std::string bytes_of(const std::vector<uint8_t>& v) {
  return std::string(v.begin(), v.end());
}

template <typename Fn>
void expect_format_error(Fn fn, const std::string& file, const std::string& field,
                         const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no FormatError (wanted one mentioning '" << needle << "')";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), file);
    EXPECT_EQ(e.field(), field);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

RC_GTEST_PROP(NpyProperty, RoundTripsEveryDtypeShapeOrderEndianVersion,
              (uint64_t seed, bool fortran, bool big_endian)) {
  const auto rank = *rc::gen::inRange(0, 5);
  const auto shape =
      *rc::gen::container<std::vector<int64_t>>(static_cast<size_t>(rank), rc::gen::inRange<int64_t>(0, 6));
  const auto dtype = *rc::gen::elementOf(kWritable);
  const int major = *rc::gen::inRange(0, 4);
  const torch::Tensor t = random_tensor(shape, dtype, seed);
  NpyWriteOptions opt;
  opt.fortran_order = fortran;
  opt.big_endian = big_endian;
  opt.major = major;
  const std::string bytes = encode_npy(t, opt);
  RC_ASSERT(bytes.size() % 64 == t.numel() * t.element_size() % 64);  // data starts 64-aligned

  const auto header = amt::io::parse_npy_header(bytes.data(), bytes.size(), "mem", "x");
  RC_ASSERT(header.fortran_order == fortran);
  RC_ASSERT(header.major == (major == 0 ? 1 : major));
  RC_ASSERT(header.data_offset % 64 == 0);
  RC_ASSERT((header.byte_order == '>') == (big_endian && t.element_size() > 1));

  const torch::Tensor back = parse_npy(bytes.data(), bytes.size(), "mem", "x");
  RC_ASSERT(back.scalar_type() == dtype);
  RC_ASSERT(back.sizes() == t.sizes());
  RC_ASSERT(back.is_contiguous());
  RC_ASSERT(torch::equal(back, t));
}

RC_GTEST_PROP(NpyProperty, AnyTruncationIsATypedErrorNamingFileAndField, (uint64_t seed)) {
  const auto dtype = *rc::gen::elementOf(kWritable);
  const torch::Tensor t = random_tensor({3, 4}, dtype, seed);
  const std::string bytes = encode_npy(t);
  const auto cut = *rc::gen::inRange<size_t>(0, bytes.size());
  try {
    parse_npy(bytes.data(), cut, "cut.npy", "arr");
    RC_FAIL("a truncated npy parsed");
  } catch (const FormatError& e) {
    RC_ASSERT(e.file() == "cut.npy");
    RC_ASSERT(e.field() == "arr");
  }
}

TEST(Npy, WritesTheNumpyHeaderByteForByte) {
  const torch::Tensor t = torch::arange(6, torch::kFloat).reshape({2, 3});
  std::string data(24, '\0');
  std::memcpy(&data[0], t.data_ptr(), 24);
  EXPECT_EQ(encode_npy(t), numpy_style("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data));
  const torch::Tensor v = torch::zeros({5}, torch::kByte);
  EXPECT_EQ(encode_npy(v),
            numpy_style("{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }", std::string(5, '\0')));
  const torch::Tensor s = torch::tensor(true);
  EXPECT_EQ(encode_npy(s), numpy_style("{'descr': '|b1', 'fortran_order': False, 'shape': (), }", "\x01"));
}

TEST(Npy, ReadsFortranOrderAndBigEndianFromRawBytes) {
  // Fortran order: column-major storage of [[0,1,2],[3,4,5]] is 0,3,1,4,2,5.
  const std::string f =
      numpy_style("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }", bytes_of({0, 3, 1, 4, 2, 5}));
  const auto a = parse_npy(f.data(), f.size(), "f.npy", "");
  EXPECT_TRUE(torch::equal(a, torch::arange(6, torch::kLong).reshape({2, 3}).to(torch::kByte)));
  // Big-endian int32 258 and -2.
  const std::string b = numpy_style("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
                                    bytes_of({0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFE}));
  const auto bi = parse_npy(b.data(), b.size(), "b.npy", "");
  EXPECT_EQ(bi.scalar_type(), torch::kInt);
  EXPECT_EQ(bi[0].item<int32_t>(), 258);
  EXPECT_EQ(bi[1].item<int32_t>(), -2);
  // Big-endian float64 1.5 = 0x3FF8000000000000.
  const std::string d = numpy_style("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }",
                                    bytes_of({0x3F, 0xF8, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(parse_npy(d.data(), d.size(), "d.npy", "")[0].item<double>(), 1.5);
}

TEST(Npy, WidensUnsignedTypesAndNormalisesBools) {
  const std::string u2 = numpy_style("{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }",
                                     bytes_of({0xFF, 0xFF, 0x01, 0x00}));
  const auto a = parse_npy(u2.data(), u2.size(), "u2.npy", "");
  EXPECT_EQ(a.scalar_type(), torch::kInt);
  EXPECT_EQ(a[0].item<int32_t>(), 65535);
  EXPECT_EQ(a[1].item<int32_t>(), 1);
  const std::string u4 = numpy_style("{'descr': '>u4', 'fortran_order': False, 'shape': (1,), }",
                                     bytes_of({0xFF, 0xFF, 0xFF, 0xFE}));
  const auto b = parse_npy(u4.data(), u4.size(), "u4.npy", "");
  EXPECT_EQ(b.scalar_type(), torch::kLong);
  EXPECT_EQ(b[0].item<int64_t>(), 4294967294LL);
  const std::string b1 =
      numpy_style("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", bytes_of({0, 7, 1}));
  const auto c = parse_npy(b1.data(), b1.size(), "b1.npy", "");
  EXPECT_TRUE(torch::equal(c, torch::tensor({false, true, true})));
}

TEST(Npy, AcceptsEveryLegalSpellingOfTheHeader) {
  // Double quotes, Python 2 longs, no trailing comma, keys in another order, extra spaces, '=' byte order,
  // version 2.0 and 3.0 preambles.
  const std::string data = bytes_of({1, 0, 0, 0, 2, 0, 0, 0});
  const std::string s = numpy_style("{ \"shape\" : (2L,) , \"fortran_order\":False,\"descr\":\"=i4\"}", data);
  const auto a = parse_npy(s.data(), s.size(), "s.npy", "");
  EXPECT_TRUE(torch::equal(a, torch::tensor({1, 2}, torch::kInt)));
  for (int major : {2, 3}) {
    NpyWriteOptions o;
    o.major = major;
    const std::string v = encode_npy(torch::tensor({1, 2}, torch::kInt), o);
    EXPECT_EQ(static_cast<int>(v[6]), major);
    EXPECT_TRUE(torch::equal(parse_npy(v.data(), v.size(), "v.npy", ""), torch::tensor({1, 2}, torch::kInt)));
  }
}

TEST(Npy, EveryMalformationIsATypedErrorNamingFileAndField) {
  const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string data(8, '\0');
  auto parse = [](const std::string& bytes) {
    return [bytes] { parse_npy(bytes.data(), bytes.size(), "a.npz", "pose_y"); };
  };

  std::string bad_magic = numpy_style(ok_dict, data);
  bad_magic[1] = 'X';
  expect_format_error(parse(bad_magic), "a.npz", "pose_y", "bad magic");
  std::string bad_version = numpy_style(ok_dict, data);
  bad_version[6] = 4;
  expect_format_error(parse(bad_version), "a.npz", "pose_y", "unsupported npy format version 4.0");
  std::string bad_minor = numpy_style(ok_dict, data);
  bad_minor[7] = 1;
  expect_format_error(parse(bad_minor), "a.npz", "pose_y", "version 1.1");

  expect_format_error(parse(numpy_style("['descr', '<f4']", data)), "a.npz", "pose_y", "expected '{'");
  expect_format_error(parse(numpy_style("{'descr': '<f4', 'fortran_order': False}", data)), "a.npz", "pose_y",
                      "lacks the key 'shape'");
  expect_format_error(parse(numpy_style("{'shape': (2,), 'fortran_order': False}", data)), "a.npz", "pose_y",
                      "lacks the key 'descr'");
  expect_format_error(parse(numpy_style("{'descr': '<f4', 'shape': (2,)}", data)), "a.npz", "pose_y",
                      "lacks the key 'fortran_order'");
  expect_format_error(
      parse(numpy_style("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", data)), "a.npz",
      "pose_y", "unexpected header key 'x'");
  expect_format_error(parse(numpy_style("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", data)),
                      "a.npz", "pose_y", "True or False");
  expect_format_error(parse(numpy_style("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", data)),
                      "a.npz", "pose_y", "expected '('");
  expect_format_error(parse(numpy_style("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", data)),
                      "a.npz", "pose_y", "not a tuple");
  expect_format_error(parse(numpy_style("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", data)),
                      "a.npz", "pose_y", "non-negative");
  expect_format_error(parse(numpy_style("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", data)),
                      "a.npz", "pose_y", "trailing characters");
  expect_format_error(
      parse(numpy_style("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", data)), "a.npz",
      "pose_y", "structured");
  for (const char* descr : {"<c8", "<U4", "|O", "<f16", "<M8", "f4", "<f"}) {
    expect_format_error(
        parse(numpy_style(std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (2,)}",
                          data)),
        "a.npz", "pose_y", "dtype");
  }
  expect_format_error(parse(numpy_style("{'descr': '|i4', 'fortran_order': False, 'shape': (2,)}", data)),
                      "a.npz", "pose_y", "multi-byte");
  expect_format_error(parse(numpy_style(ok_dict, std::string(7, '\0'))), "a.npz", "pose_y", "(truncated)");
  expect_format_error(parse(numpy_style(ok_dict, std::string(9, '\0'))), "a.npz", "pose_y",
                      "(trailing bytes)");
  expect_format_error(parse(numpy_style("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, "
                                        "99999999999, 99999999999)}",
                                        data)),
                      "a.npz", "pose_y", "too large");
  std::string long_header = numpy_style(ok_dict, data);
  long_header[8] = '\xFF';
  long_header[9] = '\xFF';
  expect_format_error(parse(long_header), "a.npz", "pose_y", "truncated npy header");
}

TEST(Npy, RefusesDtypesNumpyCannotHold) {
  EXPECT_THROW(encode_npy(torch::zeros({2}, torch::kBFloat16)), amt::DtypeError);
}

TEST(Npy, FileRoundTripAndMissingFile) {
  const amt::ScratchDir scratch;
  const std::string path = scratch.file("roundtrip.npy");
  const torch::Tensor t = torch::randn({4, 5}, torch::kDouble);
  amt::io::write_npy(path, t);
  EXPECT_TRUE(torch::equal(amt::io::read_npy(path), t));
  EXPECT_THROW(amt::io::read_npy(path + ".missing"), amt::IoError);
}

}  // namespace

namespace amt::io {
namespace {
// A shape with a zero extent holds no element, but its strides (2^62 · 4 · itemsize) overflow int64: a typed
// error naming the file, before LibTorch computes them.
TEST(NpyMalformed, ZeroExtentShapeWithOverflowingStridesIsRejected) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4611686018427387904, 4), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string file = std::string("\x93NUMPY\x01\x00", 8);
  file += static_cast<char>(header.size() & 0xff);
  file += static_cast<char>(header.size() >> 8);
  file += header;
  try {
    parse_npy(file.data(), file.size(), "huge.npy", "x");
    FAIL() << "no error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("huge.npy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("overflow"), std::string::npos) << e.what();
  }
}
}  // namespace
}  // namespace amt::io
