// safetensors reader/writer: round trips, exact bytes against the Python layout, mapping behaviour and
// atomic writes. Malformed files are in safetensors_malformed_test.cpp, oracle files in
// safetensors_oracle_test.cpp.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/io/tests/safetensors_test_util.hpp"

namespace {

using amt::io::read_safetensors;
using amt::io::read_safetensors_header;
using amt::io::Safetensors;
using amt::io::write_safetensors;
using namespace amt::io::testing;

// ---------------------------------------------------------------------------------------------------------
// dtype names

TEST(SafetensorsDtype, NamesMatchTheFormatBothWays) {
  const std::vector<std::pair<torch::ScalarType, std::string>> expected = {
      {torch::kFloat64, "F64"},   {torch::kFloat32, "F32"}, {torch::kFloat16, "F16"},
      {torch::kBFloat16, "BF16"}, {torch::kInt64, "I64"},   {torch::kInt32, "I32"},
      {torch::kInt16, "I16"},     {torch::kInt8, "I8"},     {torch::kUInt8, "U8"},
      {torch::kBool, "BOOL"}};
  ASSERT_EQ(expected.size(), all_dtypes().size());
  for (const auto& [type, name] : expected) {
    EXPECT_EQ(amt::io::safetensors_dtype_name(type), name);
    EXPECT_EQ(amt::io::safetensors_dtype_from_name(name), type);
  }
}

TEST(SafetensorsDtype, UnknownNamesAndTypesThrowDtypeError) {
  EXPECT_THROW(amt::io::safetensors_dtype_from_name("F33"), amt::DtypeError);
  EXPECT_THROW(amt::io::safetensors_dtype_from_name("f32"), amt::DtypeError);  // names are case-sensitive
  EXPECT_THROW(amt::io::safetensors_dtype_from_name("U16"), amt::DtypeError);  // no LibTorch 1.13 equivalent
  EXPECT_THROW(amt::io::safetensors_dtype_name(torch::kComplexFloat), amt::DtypeError);
  EXPECT_THROW(amt::io::safetensors_dtype_name(torch::kQInt8), amt::DtypeError);
}

// ---------------------------------------------------------------------------------------------------------
// round trips

// Tensor and metadata names built from pieces that stress JSON escaping (quotes, backslashes, control
// characters, multi-byte UTF-8) as well as ordinary dotted parameter names.
rc::Gen<std::string> gen_name() {
  static const std::vector<std::string> pieces = {
      "a",    "b",        "layer",        ".",      "_",    "0", "7", " ", "\"", "\\", "/", "\n",
      "\x01", "\xc3\xa9", "\xe7\x8c\xab", "weight", "bias", "{", "}"};
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(pieces)),
                      [](const std::vector<std::string>& parts) {
                        std::string s;
                        for (const auto& p : parts) s += p;
                        return s;
                      });
}

RC_GTEST_PROP(SafetensorsRoundTrip, RandomTensorsAndMetadataAreBitExact, ()) {
  auto names = *rc::gen::unique<std::vector<std::string>>(gen_name());
  if (names.size() > 6) names.resize(6);
  const auto metadata = *rc::gen::container<std::map<std::string, std::string>>(gen_name(), gen_name());
  const auto seed = *rc::gen::arbitrary<uint64_t>();

  std::map<std::string, torch::Tensor> tensors;
  torch::manual_seed(seed);
  for (const auto& name : names) {
    const auto dtype = *rc::gen::elementOf(all_dtypes());
    const auto rank = *rc::gen::inRange<size_t>(0, 5);
    const auto shape = *rc::gen::container<std::vector<int64_t>>(rank, rc::gen::inRange<int64_t>(0, 6));
    tensors[name] = random_bits(dtype, shape);
  }

  ScratchDir dir;
  const std::string path = dir.file("t.safetensors");
  write_safetensors(path, tensors, metadata);
  const Safetensors st = read_safetensors(path);

  RC_ASSERT(st.path == path);
  RC_ASSERT(st.metadata == metadata);
  std::vector<std::string> sorted;
  for (const auto& [name, t] : tensors) sorted.push_back(name);
  RC_ASSERT(st.names == sorted);  // the writer sorts by name, and names come back in file order
  RC_ASSERT(st.tensors.size() == tensors.size());
  for (const auto& [name, want] : tensors) {
    const torch::Tensor& got = st.at(name);
    RC_ASSERT(got.device().is_cpu());
    RC_ASSERT(got.is_contiguous());
    const auto eq = bit_equal(got, want);
    if (!eq) RC_FAIL(name + ": " + eq.message());
  }

  // The header-only reader agrees and the data section is tiled in name order.
  std::map<std::string, std::string> header_meta;
  const auto entries = read_safetensors_header(path, &header_meta);
  RC_ASSERT(header_meta == metadata);
  RC_ASSERT(entries.size() == tensors.size());
  uint64_t offset = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const torch::Tensor& want = tensors.at(sorted[i]);
    RC_ASSERT(entries[i].name == sorted[i]);
    RC_ASSERT(entries[i].dtype == want.scalar_type());
    RC_ASSERT(entries[i].shape == want.sizes().vec());
    RC_ASSERT(entries[i].begin == offset);
    offset += static_cast<uint64_t>(want.numel() * want.element_size());
    RC_ASSERT(entries[i].end == offset);
  }
  const std::string bytes = read_bytes(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  RC_ASSERT(n % 8 == 0);
  RC_ASSERT(bytes.size() == 8 + n + offset);
}

TEST(SafetensorsRoundTrip, ZeroTensorsWithAndWithoutMetadata) {
  ScratchDir dir;
  const std::string path = dir.file("empty.safetensors");
  write_safetensors(path, {});
  EXPECT_EQ(read_bytes(path), le64(8) + "{}      ");
  Safetensors st = read_safetensors(path);
  EXPECT_TRUE(st.names.empty());
  EXPECT_TRUE(st.tensors.empty());
  EXPECT_TRUE(st.metadata.empty());

  write_safetensors(path, {}, {{"k", "v"}});
  st = read_safetensors(path);
  EXPECT_TRUE(st.tensors.empty());
  EXPECT_EQ(st.metadata, (std::map<std::string, std::string>{{"k", "v"}}));
}

TEST(SafetensorsRoundTrip, ZeroDimAndZeroSizeTensors) {
  ScratchDir dir;
  const std::string path = dir.file("shapes.safetensors");
  const std::map<std::string, torch::Tensor> in = {
      {"scalar", torch::tensor(2.5, torch::kFloat64)},
      {"empty", torch::empty({0}, torch::kFloat32)},
      {"empty3", torch::empty({2, 0, 3}, torch::kInt16)},
      {"one", torch::ones({1, 1, 1, 1}, torch::kBFloat16)},
  };
  write_safetensors(path, in);
  const Safetensors st = read_safetensors(path);
  for (const auto& [name, t] : in) EXPECT_TRUE(bit_equal(st.at(name), t)) << name;
  EXPECT_EQ(st.at("scalar").dim(), 0);
  EXPECT_EQ(st.at("scalar").item<double>(), 2.5);
  EXPECT_EQ(st.at("empty3").sizes(), (std::vector<int64_t>{2, 0, 3}));
}

TEST(SafetensorsRoundTrip, NanPayloadsAndSpecialValuesSurvive) {
  // Payloads chosen so that any float conversion on the way (quieting, canonicalising) changes the bits.
  const auto f32 = torch::tensor({0x7fa00001, static_cast<int32_t>(0xffc12345), 0x7f800000, 0x00000001,
                                  static_cast<int32_t>(0x80000000)},
                                 torch::kInt32)
                       .view(torch::kFloat32);
  const auto f64 = torch::tensor({int64_t{0x7ff0000000000001}, int64_t{0x7ff8dead0000beef}}, torch::kInt64)
                       .view(torch::kFloat64);
  const auto f16 = torch::tensor(std::vector<int16_t>{0x7c01, 0x7e55, 0x0001}).view(torch::kFloat16);
  const auto bf16 = torch::tensor(std::vector<int16_t>{0x7f81, static_cast<int16_t>(0xffc3), 0x0001})
                        .view(torch::kBFloat16);
  ScratchDir dir;
  const std::string path = dir.file("nan.safetensors");
  write_safetensors(path, {{"f32", f32}, {"f64", f64}, {"f16", f16}, {"bf16", bf16}});
  const Safetensors st = read_safetensors(path);
  EXPECT_TRUE(bit_equal(st.at("f32"), f32));
  EXPECT_TRUE(bit_equal(st.at("f64"), f64));
  EXPECT_TRUE(bit_equal(st.at("f16"), f16));
  EXPECT_TRUE(bit_equal(st.at("bf16"), bf16));
  EXPECT_TRUE(torch::isnan(st.at("f32")[0]).item<bool>());
}

TEST(SafetensorsRoundTrip, WriterAcceptsAnyLayoutAndLazyViews) {
  const auto base = torch::arange(24, torch::kFloat32).reshape({4, 6});
  const auto transposed = base.t();  // non-contiguous strides
  const auto strided = base.index({torch::indexing::Slice(), torch::indexing::Slice(0, 6, 2)});
  const auto expanded = torch::tensor({1, 2, 3}, torch::kInt64).expand({2, 3});  // stride 0
  const auto sparse = torch::eye(3, torch::kFloat64).to_sparse();
  const auto grad = torch::ones({2}, torch::TensorOptions().requires_grad(true));
  const auto z = torch::complex(torch::tensor({1.f, 2.f}), torch::tensor({3.f, 4.f}));
  const auto neg_view = torch::imag(torch::conj(z));  // lazily negated, strided: its memory holds +3, +4
  const auto neg_contiguous = torch::_neg_view(torch::tensor({5.f, 6.f}));  // contiguous() keeps the bit
  ASSERT_TRUE(neg_view.is_neg() && neg_contiguous.is_neg())
      << "this LibTorch no longer makes negative views; the case tests nothing";
  ASSERT_TRUE(neg_contiguous.is_contiguous());
  ASSERT_FALSE(transposed.is_contiguous());
  ASSERT_FALSE(strided.is_contiguous());

  ScratchDir dir;
  const std::string path = dir.file("layouts.safetensors");
  write_safetensors(path, {{"transposed", transposed},
                           {"strided", strided},
                           {"expanded", expanded},
                           {"sparse", sparse},
                           {"grad", grad},
                           {"neg_view", neg_view},
                           {"neg_contiguous", neg_contiguous}});
  const Safetensors st = read_safetensors(path);
  EXPECT_TRUE(torch::equal(st.at("transposed"), transposed));
  EXPECT_TRUE(torch::equal(st.at("strided"), strided));
  EXPECT_TRUE(torch::equal(st.at("expanded"), expanded));
  EXPECT_TRUE(torch::equal(st.at("sparse"), torch::eye(3, torch::kFloat64)));
  EXPECT_TRUE(torch::equal(st.at("grad"), torch::ones({2})));
  EXPECT_TRUE(torch::equal(st.at("neg_view"), torch::tensor({-3.f, -4.f})));
  EXPECT_TRUE(torch::equal(st.at("neg_contiguous"), torch::tensor({-5.f, -6.f})));
}

// ---------------------------------------------------------------------------------------------------------
// exact bytes

// The layout of safetensors.torch.save_file({"a": tensor([1., -2.]), "b": tensor(-5, dtype=int8),
// "c": tensor([[1.]], dtype=bfloat16), "d": tensor([True, False, True])}, metadata={"k": "v"}):
// "__metadata__" first, no spaces, field order dtype/shape/data_offsets, space padding to a multiple of 8.
// One difference: current Python versions order tensors by descending dtype, then name (a, c, b, d);
// the writer under test sorts by name only, as older Python versions did and as our API specifies.
const std::string kHeader =
    R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
    R"("b":{"dtype":"I8","shape":[],"data_offsets":[8,9]},"c":{"dtype":"BF16","shape":[1,1],"data_offsets":[9,11]},)"
    R"("d":{"dtype":"BOOL","shape":[3],"data_offsets":[11,14]}})";
const std::string kData(
    "\x00\x00\x80\x3f"  // 1.0f
    "\x00\x00\x00\xc0"  // -2.0f
    "\xfb"              // int8 -5
    "\x80\x3f"          // bf16 1.0
    "\x01\x00\x01",     // true, false, true
    14);

std::string known_file() {
  // 243 header bytes, padded with 5 spaces to 248 = 0xf8.
  EXPECT_EQ(kHeader.size(), 243u);
  return std::string("\xf8\x00\x00\x00\x00\x00\x00\x00", 8) + kHeader + "     " + kData;
}

TEST(SafetensorsKnownBytes, ReadsAHandWrittenFile) {
  ScratchDir dir;
  const std::string path = dir.file("known.safetensors");
  write_bytes(path, known_file());
  const Safetensors st = read_safetensors(path);
  EXPECT_EQ(st.names, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(st.metadata, (std::map<std::string, std::string>{{"k", "v"}}));
  EXPECT_TRUE(bit_equal(st.at("a"), torch::tensor({1.f, -2.f})));
  EXPECT_TRUE(bit_equal(st.at("b"), torch::tensor(-5, torch::kInt8)));
  EXPECT_TRUE(bit_equal(st.at("c"), torch::ones({1, 1}, torch::kBFloat16)));
  EXPECT_TRUE(bit_equal(st.at("d"), torch::tensor({true, false, true})));
}

TEST(SafetensorsKnownBytes, ParsesTheSameBytesFromMemoryAsCopies) {
  std::string bytes = known_file();
  const Safetensors st = amt::io::parse_safetensors(bytes.data(), bytes.size(), "in-memory");
  EXPECT_EQ(st.path, "in-memory");
  EXPECT_EQ(st.names, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(st.metadata.at("k"), "v");
  EXPECT_TRUE(bit_equal(st.at("c"), torch::ones({1, 1}, torch::kBFloat16)));
  std::fill(bytes.begin(), bytes.end(), '\x55');  // the tensors must not alias the caller's buffer
  EXPECT_TRUE(bit_equal(st.at("a"), torch::tensor({1.f, -2.f})));
  EXPECT_TRUE(bit_equal(st.at("b"), torch::tensor(-5, torch::kInt8)));
  EXPECT_TRUE(bit_equal(st.at("d"), torch::tensor({true, false, true})));
  try {
    amt::io::parse_safetensors(bytes.data(), 3, "in-memory");
    FAIL() << "no exception";
  } catch (const amt::FormatError& e) {
    EXPECT_EQ(e.file(), "in-memory");
  }
}

TEST(SafetensorsKnownBytes, WriterProducesThePythonLayout) {
  ScratchDir dir;
  const std::string path = dir.file("written.safetensors");
  write_safetensors(path,
                    {{"d", torch::tensor({true, false, true})},
                     {"c", torch::ones({1, 1}, torch::kBFloat16)},
                     {"b", torch::tensor(-5, torch::kInt8)},
                     {"a", torch::tensor({1.f, -2.f})}},
                    {{"k", "v"}});
  const std::string got = read_bytes(path);
  const std::string want = known_file();
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(got.substr(0, 8), want.substr(0, 8)) << "header length";
  EXPECT_EQ(got.substr(8, 248), want.substr(8, 248)) << "header JSON";
  EXPECT_EQ(got.substr(256), want.substr(256)) << "data";
}

TEST(SafetensorsKnownBytes, ReaderAcceptsAnyKeyOrderAndWhitespace) {
  // Current Python output (metadata first, wider dtypes first) and a pretty-printed header.
  const std::string header =
      "{\n  \"__metadata__\": {\"format\": \"pt\"},\n"
      "  \"z\": {\"shape\": [2], \"data_offsets\": [0, 16], \"dtype\": \"F64\"},\n"
      "  \"a\": {\"data_offsets\": [16, 18], \"dtype\": \"U8\", \"shape\": [2]}\n}\n";
  const std::string data(
      "\x00\x00\x00\x00\x00\x00\xf0\x3f"
      "\x00\x00\x00\x00\x00\x00\x00\x40"
      "\x07\x09",
      18);
  ScratchDir dir;
  const std::string path = dir.file("pretty.safetensors");
  write_bytes(path, st_file(header, data));
  const Safetensors st = read_safetensors(path);
  EXPECT_EQ(st.names, (std::vector<std::string>{"z", "a"}));  // file (offset) order, not name order
  EXPECT_TRUE(bit_equal(st.at("z"), torch::tensor({1.0, 2.0}, torch::kFloat64)));
  EXPECT_TRUE(bit_equal(st.at("a"), torch::tensor({7, 9}, torch::kUInt8)));
  EXPECT_EQ(st.metadata.at("format"), "pt");
}

// ---------------------------------------------------------------------------------------------------------
// memory mapping

// The [start, end) address ranges at which this process maps `path`, from /proc/self/maps.
std::vector<std::pair<uintptr_t, uintptr_t>> mappings_of(const std::string& path) {
  const std::string canonical = std::filesystem::canonical(path).string();
  std::ifstream maps("/proc/self/maps");
  std::vector<std::pair<uintptr_t, uintptr_t>> out;
  for (std::string line; std::getline(maps, line);) {
    if (line.size() < canonical.size() ||
        line.compare(line.size() - canonical.size(), canonical.size(), canonical) != 0)
      continue;
    std::istringstream in(line);
    std::string range;
    in >> range;
    const auto dash = range.find('-');
    out.emplace_back(std::stoull(range.substr(0, dash), nullptr, 16),
                     std::stoull(range.substr(dash + 1), nullptr, 16));
  }
  return out;
}

bool is_in(const void* p, const std::vector<std::pair<uintptr_t, uintptr_t>>& ranges) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  for (const auto& [lo, hi] : ranges)
    if (a >= lo && a < hi) return true;
  return false;
}

TEST(SafetensorsMapping, AlignedTensorsAliasTheFileMisalignedOnesAreCopied) {
  ScratchDir dir;
  const std::string path = dir.file("known.safetensors");
  write_bytes(path, known_file());  // c (BF16) starts at absolute offset 8 + 248 + 9: odd, so misaligned
  const Safetensors st = read_safetensors(path);
  const auto maps = mappings_of(path);
  ASSERT_FALSE(maps.empty()) << "the file is not mapped while its tensors are alive";
  EXPECT_TRUE(is_in(st.at("a").data_ptr(), maps)) << "an aligned F32 tensor was copied";
  EXPECT_TRUE(is_in(st.at("d").data_ptr(), maps)) << "a BOOL tensor (alignment 1) was copied";
  EXPECT_FALSE(is_in(st.at("c").data_ptr(), maps)) << "a misaligned BF16 tensor aliases the mapping";
  EXPECT_EQ(reinterpret_cast<uintptr_t>(st.at("c").data_ptr()) % 2, 0u);
  EXPECT_TRUE(bit_equal(st.at("c"), torch::ones({1, 1}, torch::kBFloat16)));
}

TEST(SafetensorsMapping, TensorsOutliveTheReaderAndEditsNeverReachTheFile) {
  ScratchDir dir;
  const std::string path = dir.file("known.safetensors");
  write_bytes(path, known_file());
  torch::Tensor a;
  {
    Safetensors st = read_safetensors(path);
    a = st.at("a");
  }
  // The struct is gone; the tensor keeps the mapping alive (ASan would flag a read of unmapped memory).
  EXPECT_FALSE(mappings_of(path).empty());
  EXPECT_TRUE(torch::equal(a, torch::tensor({1.f, -2.f})));
  a.mul_(3);  // copy-on-write: must neither crash nor change the file
  EXPECT_TRUE(torch::equal(a, torch::tensor({3.f, -6.f})));
  EXPECT_EQ(read_bytes(path), known_file());
  EXPECT_TRUE(torch::equal(read_safetensors(path).at("a"), torch::tensor({1.f, -2.f})));
  a = torch::Tensor();
  EXPECT_TRUE(mappings_of(path).empty()) << "the mapping outlives its last tensor";
}

TEST(SafetensorsMapping, HeaderOnlyReadLeavesNothingMapped) {
  ScratchDir dir;
  const std::string path = dir.file("known.safetensors");
  write_bytes(path, known_file());
  std::map<std::string, std::string> meta;
  const auto entries = read_safetensors_header(path, &meta);
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[2].name, "c");
  EXPECT_EQ(entries[2].dtype, torch::kBFloat16);
  EXPECT_EQ(entries[2].shape, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(entries[2].begin, 9u);
  EXPECT_EQ(entries[2].end, 11u);
  EXPECT_EQ(meta.at("k"), "v");
  EXPECT_TRUE(mappings_of(path).empty());
}

// ---------------------------------------------------------------------------------------------------------
// atomic writes

TEST(SafetensorsAtomicWrite, MissingFolderIsIoErrorNamingThePath) {
  ScratchDir dir;
  const std::string path = dir.file("no/such/folder/out.safetensors");
  try {
    write_safetensors(path, {{"x", torch::ones({2})}});
    FAIL() << "no exception";
  } catch (const amt::IoError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(SafetensorsAtomicWrite, UnsupportedDtypeNamesTheTensorAndLeavesTheOldFileIntact) {
  ScratchDir dir;
  const std::string path = dir.file("keep.safetensors");
  write_safetensors(path, {{"old", torch::arange(5, torch::kInt32)}});
  const std::string before = read_bytes(path);
  try {
    write_safetensors(path,
                      {{"fine", torch::ones({3})}, {"zz_complex", torch::ones({2}, torch::kComplexFloat)}});
    FAIL() << "no exception";
  } catch (const amt::DtypeError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("zz_complex"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"keep.safetensors"});
}

TEST(SafetensorsAtomicWrite, ReservedUndefinedAndMetaTensorsAreRefusedBeforeWriting) {
  ScratchDir dir;
  const std::string path = dir.file("keep.safetensors");
  write_safetensors(path, {{"old", torch::ones({1})}});
  const std::string before = read_bytes(path);
  const std::vector<std::pair<std::string, torch::Tensor>> bad = {
      {"__metadata__", torch::ones({1})},
      {"undefined", torch::Tensor()},
      {"meta_device", torch::empty({2}, torch::TensorOptions().device(torch::kMeta))},
      {"bad\xff utf8", torch::ones({1})},
  };
  for (const auto& [name, t] : bad) {
    try {
      write_safetensors(path, {{name, t}});
      ADD_FAILURE() << name << ": no exception";
    } catch (const amt::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_bytes(path), before) << name;
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"keep.safetensors"});
}

TEST(SafetensorsAtomicWrite, OverwriteReplacesTheFileAndLeavesNoTemporary) {
  ScratchDir dir;
  const std::string path = dir.file("w.safetensors");
  write_safetensors(path, {{"x", torch::ones({1000})}});
  write_safetensors(path, {{"y", torch::zeros({2}, torch::kInt8)}});
  const Safetensors st = read_safetensors(path);
  EXPECT_EQ(st.names, std::vector<std::string>{"y"});
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"w.safetensors"});
}

// Caps the size of files this process may write (RLIMIT_FSIZE) so that write() fails with EFBIG part-way
// through, like a full disk; SIGXFSZ is ignored meanwhile so the process is not killed instead.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit lim = old_;
    lim.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &lim);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

TEST(SafetensorsAtomicWrite, FailureWhileWritingDataKeepsTheOldFile) {
  ScratchDir dir;
  const std::string path = dir.file("keep.safetensors");
  write_safetensors(path, {{"old", torch::arange(3)}});
  const std::string before = read_bytes(path);
  try {
    FileSizeLimit limit(4096);
    write_safetensors(path, {{"big", torch::ones({100000})}});
    FAIL() << "no exception";
  } catch (const amt::IoError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_NE(std::string(e.what()).find("cannot write"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"keep.safetensors"});
}

TEST(SafetensorsAtomicWrite, FailedRenameRemovesTheTemporary) {
  ScratchDir dir;
  const std::string path = dir.file("is_a_folder");
  std::filesystem::create_directory(path);
  std::ofstream(dir.file("is_a_folder/inside")) << "x";  // a non-empty folder cannot be replaced
  try {
    write_safetensors(path, {{"x", torch::ones({3})}});
    FAIL() << "no exception";
  } catch (const amt::IoError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_NE(std::string(e.what()).find("rename"), std::string::npos) << e.what();
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"is_a_folder"});
}

}  // namespace
