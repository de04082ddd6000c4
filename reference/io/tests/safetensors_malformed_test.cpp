// Malformed safetensors files: every kind is rejected with amt::FormatError naming the file and the tensor,
// and random corruption never produces anything but FormatError (or a correct read).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/io/tests/safetensors_test_util.hpp"

namespace {

using amt::io::read_safetensors;
using amt::io::read_safetensors_header;
using namespace amt::io::testing;

enum class Reader { kFull, kHeader, kMemory };

// For kMemory the file's bytes are parsed from memory with `path` standing in as the name.
::testing::AssertionResult rejects_with(Reader reader, const std::string& path, const std::string& field,
                                        const std::string& phrase) {
  try {
    if (reader == Reader::kFull) {
      read_safetensors(path);
    } else if (reader == Reader::kHeader) {
      read_safetensors_header(path);
    } else {
      const std::string bytes = read_bytes(path);
      amt::io::parse_safetensors(bytes.data(), bytes.size(), path);
    }
  } catch (const amt::FormatError& e) {
    const std::string what = e.what();
    auto fail = [&] { return ::testing::AssertionFailure() << "message: " << what << "\n  "; };
    if (e.file() != path) return fail() << "file() is " << e.file() << ", want " << path;
    if (e.field() != field) return fail() << "field() is \"" << e.field() << "\", want \"" << field << "\"";
    if (what.find(path) == std::string::npos) return fail() << "message lacks the path";
    if (!field.empty() && what.find("[" + field + "]") == std::string::npos)
      return fail() << "message lacks the tensor name";
    if (what.find(phrase) == std::string::npos) return fail() << "message lacks \"" << phrase << "\"";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw something other than FormatError: " << e.what();
  }
  return ::testing::AssertionFailure() << "accepted the file";
}

// Writes `bytes` to a scratch file and checks that all three readers reject it (the header-only reader is
// skipped where the fault is in the data rather than the header).
class SafetensorsMalformed : public ::testing::Test {
 protected:
  ::testing::AssertionResult rejects(const std::string& bytes, const std::string& field,
                                     const std::string& phrase, bool header_reader_too = true) {
    const std::string path = dir_.file("bad.safetensors");
    write_bytes(path, bytes);
    auto full = rejects_with(Reader::kFull, path, field, phrase);
    if (!full) return ::testing::AssertionFailure() << "read_safetensors: " << full.message();
    auto memory = rejects_with(Reader::kMemory, path, field, phrase);
    if (!memory) return ::testing::AssertionFailure() << "parse_safetensors: " << memory.message();
    if (header_reader_too) {
      auto header = rejects_with(Reader::kHeader, path, field, phrase);
      if (!header) return ::testing::AssertionFailure() << "read_safetensors_header: " << header.message();
    }
    return ::testing::AssertionSuccess();
  }
  ScratchDir dir_;
};

// One valid F32 [2] tensor entry at the given offsets.
std::string f32_entry(const std::string& name, uint64_t begin, uint64_t end,
                      const std::string& shape = "[2]") {
  return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

TEST_F(SafetensorsMalformed, ValidBaselineIsAccepted) {
  // The malformed cases below are small edits of this file; it must itself be fine.
  const std::string path = dir_.file("good.safetensors");
  write_bytes(path, st_file("{" + f32_entry("w", 0, 8) + "}", std::string(8, '\0')));
  EXPECT_EQ(read_safetensors(path).at("w").numel(), 2);
}

TEST_F(SafetensorsMalformed, FileShorterThan8Bytes) {
  EXPECT_TRUE(rejects("", "", "shorter than the 8-byte"));
  EXPECT_TRUE(rejects(std::string("\x02\x00\x00\x00\x00\x00\x00", 7), "", "shorter than the 8-byte"));
}

TEST_F(SafetensorsMalformed, HeaderLengthPastTheEnd) {
  EXPECT_TRUE(rejects(le64(9) + "{}      ", "", "runs past the end"));
  EXPECT_TRUE(rejects(le64(1) + "", "", "runs past the end"));
}

TEST_F(SafetensorsMalformed, HeaderLengthAbsurd) {
  EXPECT_TRUE(rejects(le64(100'000'001) + "{}", "", "exceeds"));
  EXPECT_TRUE(rejects(le64(UINT64_MAX) + "{}", "", "exceeds"));  // 8 + n would wrap around
}

TEST_F(SafetensorsMalformed, InvalidJson) {
  EXPECT_TRUE(rejects(st_file("{\"w\":"), "", "not valid JSON"));
  EXPECT_TRUE(rejects(st_file("{\"w\":{}} x"), "", "not valid JSON"));                     // trailing garbage
  EXPECT_TRUE(rejects(st_file("{\"w\xff\":{}}"), "", "not valid JSON"));                   // invalid UTF-8
  EXPECT_TRUE(rejects(le64(8) + std::string("{}\0\0\0\0\0\0", 8), "", "not valid JSON"));  // NUL padding
  EXPECT_TRUE(rejects(st_file("{/*c*/}"), "", "not valid JSON"));  // comments are not JSON
}

TEST_F(SafetensorsMalformed, HeaderNotAnObject) {
  EXPECT_TRUE(rejects(st_file("[1,2]"), "", "must be a JSON object"));
  EXPECT_TRUE(rejects(st_file("\"w\""), "", "must be a JSON object"));
  EXPECT_TRUE(rejects(st_file("null"), "", "must be a JSON object"));
}

TEST_F(SafetensorsMalformed, EntryNotAnObject) {
  EXPECT_TRUE(rejects(st_file("{\"w\":5}"), "w", "must be a JSON object"));
  EXPECT_TRUE(
      rejects(st_file("{\"w\":[\"F32\",[2],[0,8]]}", std::string(8, '\0')), "w", "must be a JSON object"));
}

TEST_F(SafetensorsMalformed, MissingDtype) {
  EXPECT_TRUE(rejects(st_file(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')), "w",
                      "no \"dtype\""));
}

TEST_F(SafetensorsMalformed, MissingShape) {
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", std::string(8, '\0')), "w",
                      "no \"shape\""));
}

TEST_F(SafetensorsMalformed, MissingDataOffsets) {
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F32","shape":[2]}})", std::string(8, '\0')), "w",
                      "no \"data_offsets\""));
}

TEST_F(SafetensorsMalformed, WrongJsonTypes) {
  const std::string d(8, '\0');
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":32,"shape":[2],"data_offsets":[0,8]}})", d), "w",
                      "\"dtype\" must be a string"));
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", d), "w",
                      "\"shape\" must be an array"));
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", d), "w",
                      "shape dimension must be a non-negative integer"));
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F32","shape":[true],"data_offsets":[0,8]}})", d), "w",
                      "shape dimension must be a non-negative integer"));
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})", d), "w",
                      "shape dimension must be a non-negative integer"));
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":{"0":8}}})", d), "w",
                      "\"data_offsets\" must be an array [begin, end]"));
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8]}})", d), "w",
                      "\"data_offsets\" must be an array [begin, end]"));
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", d), "w",
                      "\"data_offsets\" must be an array [begin, end]"));
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,"8"]}})", d), "w",
                      "data_offsets end must be a non-negative integer"));
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-0.0,8]}})", d), "w",
                      "data_offsets begin must be a non-negative integer"));
}

TEST_F(SafetensorsMalformed, UnknownDtype) {
  const std::string d(8, '\0');
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", d), "w",
                      "unknown dtype \"F33\""));
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"float32","shape":[2],"data_offsets":[0,8]}})", d), "w",
                      "unknown dtype"));
  // Valid in the format, but LibTorch 1.13 has no such type.
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"U32","shape":[2],"data_offsets":[0,8]}})", d), "w",
                      "U32 has no LibTorch"));
}

TEST_F(SafetensorsMalformed, NegativeShape) {
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})"), "w",
                      "shape dimension is negative (-1)"));
  EXPECT_TRUE(
      rejects(st_file(R"({"w":{"dtype":"F32","shape":[-2,-1],"data_offsets":[0,8]}})", std::string(8, '\0')),
              "w", "negative"));
}

TEST_F(SafetensorsMalformed, ShapeTooLargeToCount) {
  // 2^32 * 2^32 overflows uint64; with a zero extent the element count is 0 but strides would still overflow.
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
                      "w", "more elements than int64"));
  EXPECT_TRUE(
      rejects(st_file(R"({"w":{"dtype":"U8","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})"), "w",
              "more elements than int64"));
  // 2^63 fits uint64 but not int64, which LibTorch uses for sizes and strides.
  EXPECT_TRUE(
      rejects(st_file(R"({"w":{"dtype":"U8","shape":[0,4294967296,2147483648],"data_offsets":[0,0]}})"), "w",
              "more elements than int64"));
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]}})"),
                      "w", "more elements than int64"));
  // Fits int64 as an element count but not as a byte count.
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})"),
                      "w", "more than 2^63"));
}

TEST_F(SafetensorsMalformed, OffsetsPastTheData) {
  EXPECT_TRUE(rejects(st_file("{" + f32_entry("w", 0, 8) + "}", std::string(4, '\0')), "w",
                      "run past the 4-byte data section"));
  EXPECT_TRUE(rejects(
      st_file("{" + f32_entry("w", 18446744073709551607u, 18446744073709551615u) + "}", std::string(8, '\0')),
      "w", "run past"));
}

TEST_F(SafetensorsMalformed, OffsetsBeginAfterEnd) {
  EXPECT_TRUE(
      rejects(st_file("{" + f32_entry("w", 8, 0) + "}", std::string(8, '\0')), "w", "begin 8 is past end 0"));
}

TEST_F(SafetensorsMalformed, OverlappingRanges) {
  EXPECT_TRUE(
      rejects(st_file("{" + f32_entry("a", 0, 8) + "," + f32_entry("b", 4, 12) + "}", std::string(12, '\0')),
              "b", "overlap tensor \"a\""));
  // Two tensors on the same bytes (a cheap way to make aliasing "weights").
  EXPECT_TRUE(
      rejects(st_file("{" + f32_entry("a", 0, 8) + "," + f32_entry("b", 0, 8) + "}", std::string(8, '\0')),
              "b", "overlap tensor \"a\""));
  // A zero-size tensor inside another tensor's range.
  EXPECT_TRUE(rejects(
      st_file("{" + f32_entry("a", 0, 8) + "," + f32_entry("b", 4, 4, "[0]") + "}", std::string(8, '\0')),
      "b", "overlap"));
}

TEST_F(SafetensorsMalformed, GapBetweenRanges) {
  EXPECT_TRUE(
      rejects(st_file("{" + f32_entry("a", 0, 8) + "," + f32_entry("b", 12, 20) + "}", std::string(20, '\0')),
              "b", "gap of 4 bytes after tensor \"a\""));
}

TEST_F(SafetensorsMalformed, LeadingGap) {
  EXPECT_TRUE(rejects(st_file("{" + f32_entry("a", 4, 12) + "}", std::string(12, '\0')), "a",
                      "gap of 4 bytes after the header"));
}

TEST_F(SafetensorsMalformed, TrailingUnusedBytes) {
  EXPECT_TRUE(rejects(st_file("{" + f32_entry("a", 0, 8) + "}", std::string(9, '\0')), "a",
                      "1 bytes after the last tensor"));
  EXPECT_TRUE(rejects(st_file("{}", "x"), "", "1 bytes after the last tensor"));
}

TEST_F(SafetensorsMalformed, ShapeTimesDtypeSizeIsNotTheByteLength) {
  EXPECT_TRUE(rejects(st_file("{" + f32_entry("w", 0, 8, "[3]") + "}", std::string(8, '\0')), "w",
                      "shape [3] of F32 needs 12 bytes but data_offsets [0,8] hold 8"));
  EXPECT_TRUE(
      rejects(st_file("{" + f32_entry("w", 0, 8, "[]") + "}", std::string(8, '\0')), "w", "needs 4 bytes"));
}

TEST_F(SafetensorsMalformed, DuplicateTensorName) {
  EXPECT_TRUE(
      rejects(st_file("{" + f32_entry("w", 0, 8) + "," + f32_entry("w", 8, 16) + "}", std::string(16, '\0')),
              "w", "more than once"));
}

TEST_F(SafetensorsMalformed, DuplicateFieldInAnEntry) {
  EXPECT_TRUE(rejects(st_file(R"({"w":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}})",
                              std::string(8, '\0')),
                      "w", "key \"dtype\" appears more than once"));
}

TEST_F(SafetensorsMalformed, DuplicateMetadata) {
  EXPECT_TRUE(rejects(st_file(R"({"__metadata__":{"k":"a","k":"b"}})"), "__metadata__",
                      "key \"k\" appears more than once"));
  EXPECT_TRUE(rejects(st_file(R"({"__metadata__":{},"__metadata__":{}})"), "__metadata__", "more than once"));
}

TEST_F(SafetensorsMalformed, MetadataNotAStringToStringObject) {
  EXPECT_TRUE(rejects(st_file(R"({"__metadata__":"k=v"})"), "__metadata__", "must be an object of strings"));
  EXPECT_TRUE(
      rejects(st_file(R"({"__metadata__":["k","v"]})"), "__metadata__", "must be an object of strings"));
  EXPECT_TRUE(rejects(st_file(R"({"__metadata__":{"k":1}})"), "__metadata__.k", "values must be strings"));
  EXPECT_TRUE(
      rejects(st_file(R"({"__metadata__":{"k":{"x":"y"}}})"), "__metadata__.k", "values must be strings"));
  EXPECT_TRUE(rejects(st_file(R"({"__metadata__":{"k":null}})"), "__metadata__.k", "values must be strings"));
}

TEST_F(SafetensorsMalformed, NullMetadataMeansNoneAsInTheReferenceReader) {
  const std::string path = dir_.file("null_meta.safetensors");
  write_bytes(path, st_file(R"({"__metadata__":null})"));
  EXPECT_TRUE(read_safetensors(path).metadata.empty());
}

TEST_F(SafetensorsMalformed, BoolBytesOtherThanZeroOrOne) {
  EXPECT_TRUE(rejects(
      st_file(R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", std::string("\x01\x00\x02", 3)),
      "m", "BOOL element 2 holds byte 2", /*header_reader_too=*/false));
}

TEST_F(SafetensorsMalformed, DeepNestingIsRejectedWithoutRecursion) {
  // 10^6 nested arrays: a recursive parser or destructor would overflow the stack.
  EXPECT_TRUE(rejects(st_file("{\"w\":" + std::string(1'000'000, '[') + std::string(1'000'000, ']') + "}"),
                      "w", "nests deeper"));
  EXPECT_TRUE(rejects(st_file(std::string(1'000'000, '[')), "", "nests deeper"));
}

TEST_F(SafetensorsMalformed, AtNamesTheFileAndTheMissingTensor) {
  const std::string path = dir_.file("one.safetensors");
  write_bytes(path, st_file("{" + f32_entry("w", 0, 8) + "}", std::string(8, '\0')));
  const auto st = read_safetensors(path);
  EXPECT_TRUE(st.has("w"));
  EXPECT_FALSE(st.has("missing"));
  try {
    st.at("missing");
    FAIL() << "no exception";
  } catch (const amt::FormatError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_EQ(e.field(), "missing");
  }
}

TEST(SafetensorsUnopenable, MissingFileOrFolderIsIoError) {
  ScratchDir dir;
  for (const std::string& path : {dir.file("absent.safetensors"), dir.path().string()}) {
    for (Reader reader : {Reader::kFull, Reader::kHeader}) {
      try {
        if (reader == Reader::kFull)
          read_safetensors(path);
        else
          read_safetensors_header(path);
        ADD_FAILURE() << path << ": no exception";
      } catch (const amt::IoError& e) {
        EXPECT_EQ(e.file(), path);
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Random corruption of valid files: the reader either reads it or throws FormatError, nothing else.
// Mutations favour the header (that is where parsing happens) and JSON-significant bytes.

RC_GTEST_PROP(SafetensorsRobustness, CorruptedFilesOnlyEverThrowFormatError, ()) {
  const auto seed = *rc::gen::arbitrary<uint64_t>();
  const auto count = *rc::gen::inRange(0, 4);
  std::map<std::string, torch::Tensor> tensors;
  torch::manual_seed(seed);
  for (int i = 0; i < count; ++i) {
    const auto dtype = *rc::gen::elementOf(all_dtypes());
    const auto shape = *rc::gen::container<std::vector<int64_t>>(*rc::gen::inRange<size_t>(0, 3),
                                                                 rc::gen::inRange<int64_t>(0, 4));
    tensors["t" + std::to_string(i)] = random_bits(dtype, shape);
  }
  ScratchDir dir;
  const std::string path = dir.file("c.safetensors");
  const std::map<std::string, std::string> metadata = {{"a", "x"}, {"bb", ""}};
  amt::io::write_safetensors(path, tensors, *rc::gen::arbitrary<bool>() ? metadata : decltype(metadata){});
  std::string bytes = read_bytes(path);
  const size_t header_end = std::min(bytes.size(), size_t{8} + static_cast<unsigned char>(bytes[0]) +
                                                       256 * static_cast<unsigned char>(bytes[1]));

  static const char kSignificant[] = "{}[],:\"\\-+.0123456789eE \x00\xff\x80tfn";
  static const std::string significant(kSignificant, sizeof(kSignificant) - 1);
  const auto n_mutations = *rc::gen::inRange(1, 4);
  for (int i = 0; i < n_mutations; ++i) {
    const auto kind = *rc::gen::inRange(0, 4);
    const bool in_header = *rc::gen::weightedElement<bool>({{4, true}, {1, false}});
    const size_t limit = in_header ? std::min(header_end, bytes.size()) : bytes.size();
    if (limit == 0) break;
    const size_t pos = *rc::gen::inRange<size_t>(0, limit);
    if (kind == 0) {
      bytes[pos] = significant[*rc::gen::inRange<size_t>(0, significant.size())];
    } else if (kind == 1) {
      bytes[pos] = static_cast<char>(*rc::gen::arbitrary<uint8_t>());
    } else if (kind == 2) {
      bytes.erase(pos, 1);
    } else {
      bytes.resize(pos);  // truncation
    }
  }
  write_bytes(path, bytes);
  for (Reader reader : {Reader::kFull, Reader::kHeader, Reader::kMemory}) {
    try {
      if (reader == Reader::kHeader) {
        read_safetensors_header(path);
      } else {
        const auto st = reader == Reader::kFull
                            ? read_safetensors(path)
                            : amt::io::parse_safetensors(bytes.data(), bytes.size(), path);
        for (const auto& [name, t] : st.tensors) bytes_of(t).sum();  // touch every byte that was handed out
      }
    } catch (const amt::FormatError&) {
    } catch (const std::exception& e) {
      RC_FAIL(std::string("threw something other than FormatError: ") + e.what());
    }
  }
}

}  // namespace
