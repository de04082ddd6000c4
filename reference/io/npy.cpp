#include "reference/io/npy.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "reference/core/checked.hpp"
#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"
#include "reference/io/file_bytes.hpp"

// Native byte order is little-endian here; '=' and '<' both mean "no swap".
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "npy I/O assumes a little-endian host");

namespace amt::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64;

// One entry per (kind, itemsize) the reader accepts; `stored` is the torch type whose bytes match the file's
// items, `result` the type handed out (they differ only for the widened unsigned types).
struct NpyType {
  char kind;
  int64_t itemsize;
  torch::ScalarType stored;  // only meaningful when !widen
  torch::ScalarType result;
  bool widen;
};
constexpr NpyType kTypes[] = {
    {'f', 2, torch::kHalf, torch::kHalf, false},     {'f', 4, torch::kFloat, torch::kFloat, false},
    {'f', 8, torch::kDouble, torch::kDouble, false}, {'i', 1, torch::kChar, torch::kChar, false},
    {'i', 2, torch::kShort, torch::kShort, false},   {'i', 4, torch::kInt, torch::kInt, false},
    {'i', 8, torch::kLong, torch::kLong, false},     {'u', 1, torch::kByte, torch::kByte, false},
    {'b', 1, torch::kBool, torch::kBool, false},     {'u', 2, torch::kInt, torch::kInt, true},
    {'u', 4, torch::kLong, torch::kLong, true},
};

const NpyType* find_type(char kind, int64_t itemsize) {
  for (const auto& t : kTypes)
    if (t.kind == kind && t.itemsize == itemsize) return &t;
  return nullptr;
}

// A recursive-descent reader for the one Python literal NumPy writes: a dict of str keys whose values are a
// str, a bool or a tuple of ints. NumPy itself uses ast.literal_eval, so whitespace, either quote character,
// trailing commas and Python 2's "5L" longs are all legal and accepted here.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& file, const std::string& field)
      : s_(text), file_(file), field_(field) {}

  void parse(NpyHeader& h) {
    bool have_descr = false, have_order = false, have_shape = false;
    skip_ws();
    expect('{');
    for (;;) {
      skip_ws();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (peek() == '[') fail("structured dtypes (a descr list) are not supported");
        h.descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = parse_bool();
        have_order = true;
      } else if (key == "shape") {
        h.shape = parse_shape();
        have_shape = true;
      } else {
        fail("unexpected header key '" + key + "' (NumPy allows only descr, fortran_order, shape)");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_ws();
      expect('}');
      break;
    }
    skip_ws();
    if (pos_ != s_.size()) fail("trailing characters after the header dict");
    if (!have_descr) fail("header dict lacks the key 'descr'");
    if (!have_order) fail("header dict lacks the key 'fortran_order'");
    if (!have_shape) fail("header dict lacks the key 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(file_, field_, "npy header: " + what + " (header: " + printable() + ")");
  }
  std::string printable() const {
    std::string out;
    for (char c : s_.substr(0, 200)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
    return out;
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "' at offset " + std::to_string(pos_));
    ++pos_;
  }
  std::string parse_string() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string at offset " + std::to_string(pos_));
    ++pos_;
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\') fail("escape sequences are not supported in header strings");
      out += s_[pos_++];
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }
  bool parse_bool() {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("fortran_order must be True or False");
  }
  std::vector<int64_t> parse_shape() {
    // NumPy insists on a tuple: a list is rejected there, so it is rejected here too.
    expect('(');
    std::vector<int64_t> shape;
    bool need_comma_for_single = true;
    for (;;) {
      skip_ws();
      if (peek() == ')') {
        ++pos_;
        break;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) {
        fail("shape must be a tuple of non-negative integers");
      }
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        const int d = peek() - '0';
        if (v > (std::numeric_limits<int64_t>::max() - d) / 10) fail("shape dimension overflows int64");
        v = v * 10 + d;
        ++pos_;
      }
      if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2 long literal
      shape.push_back(v);
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        need_comma_for_single = false;
        continue;
      }
      skip_ws();
      expect(')');
      // "(5)" is an int in Python, not a tuple.
      if (shape.size() == 1 && need_comma_for_single) fail("shape '(n)' is an int, not a tuple");
      break;
    }
    return shape;
  }

  const std::string& s_;
  const std::string& file_;
  const std::string& field_;
  size_t pos_ = 0;
};

void byteswap_inplace(char* data, int64_t count, int64_t itemsize) {
  for (int64_t i = 0; i < count; ++i) std::reverse(data + i * itemsize, data + (i + 1) * itemsize);
}

std::vector<int64_t> reversed(std::vector<int64_t> v) {
  std::reverse(v.begin(), v.end());
  return v;
}

}  // namespace

int64_t NpyHeader::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

NpyHeader parse_npy_header(const void* data, size_t size, const std::string& file, const std::string& field) {
  const auto* p = static_cast<const unsigned char*>(data);
  if (size < kMagicLen + 2 || std::memcmp(p, kMagic, kMagicLen) != 0) {
    throw FormatError(file, field, "not an .npy array: bad magic (expected \\x93NUMPY)");
  }
  NpyHeader h;
  h.major = p[6];
  h.minor = p[7];
  if (!((h.major == 1 || h.major == 2 || h.major == 3) && h.minor == 0)) {
    throw FormatError(file, field,
                      "unsupported npy format version " + std::to_string(h.major) + "." +
                          std::to_string(h.minor) + " (supported: 1.0, 2.0, 3.0)");
  }
  const size_t len_bytes = h.major == 1 ? 2 : 4;
  const size_t preamble = kMagicLen + 2 + len_bytes;
  if (size < preamble) throw FormatError(file, field, "truncated npy preamble");
  uint64_t header_len = 0;
  for (size_t i = 0; i < len_bytes; ++i) header_len |= static_cast<uint64_t>(p[8 + i]) << (8 * i);
  if (header_len > size - preamble) {
    throw FormatError(file, field,
                      "truncated npy header: it claims " + std::to_string(header_len) + " bytes, " +
                          std::to_string(size - preamble) + " remain");
  }
  const std::string text(reinterpret_cast<const char*>(p + preamble), static_cast<size_t>(header_len));
  HeaderParser(text, file, field).parse(h);
  h.data_offset = static_cast<int64_t>(preamble + header_len);

  // descr: byte order, kind, item size ("<f4", "|u1", "=i8", "?" is not written by NumPy for arrays).
  const std::string& d = h.descr;
  if (d.size() < 3 || std::string("<>|=").find(d[0]) == std::string::npos ||
      !std::all_of(d.begin() + 2, d.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    throw FormatError(file, field, "unknown npy dtype '" + d + "'");
  }
  h.byte_order = d[0] == '=' ? '<' : d[0];
  h.kind = d[1];
  h.itemsize = d.size() > 5 ? -1 : std::stoll(d.substr(2));
  if (find_type(h.kind, h.itemsize) == nullptr) {
    throw FormatError(
        file, field,
        "unknown or unsupported npy dtype '" + d + "' (supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 b1)");
  }
  if (h.byte_order == '|' && h.itemsize > 1) {
    throw FormatError(file, field, "npy dtype '" + d + "': '|' (no byte order) on a multi-byte type");
  }
  // Every stride (the product of the dims, zero extents taken as 1) × the widest item size must fit in int64
  // before LibTorch or anyone else multiplies it: a shape like (0, 2^62, 4) holds no element but its strides
  // overflow.
  try {
    checked_stride_product(h.shape, 16, "npy shape");
  } catch (const ValueError&) {
    throw FormatError(file, field, "npy shape is too large (its element count or strides overflow int64)");
  }
  return h;
}

torch::Tensor parse_npy(const void* data, size_t size, const std::string& file, const std::string& field) {
  const NpyHeader h = parse_npy_header(data, size, file, field);
  const NpyType* t = find_type(h.kind, h.itemsize);
  const int64_t n = h.numel();
  const int64_t want = h.data_bytes();
  const int64_t have = static_cast<int64_t>(size) - h.data_offset;
  // The widened result (u2 → int32, u4 → int64) is at most twice the stored bytes.
  check_tensor_bytes(t->widen ? checked_mul(want, 2, "npy data bytes") : want,
                     file + (field.empty() ? "" : " [" + field + "]") + ": npy array " +
                         c10::str(c10::IntArrayRef(h.shape)));
  if (have != want) {
    throw FormatError(file, field,
                      "npy data length " + std::to_string(have) + " bytes != shape " +
                          c10::str(c10::IntArrayRef(h.shape)) + " x itemsize " + std::to_string(h.itemsize) +
                          " = " + std::to_string(want) +
                          (have < want ? " (truncated)" : " (trailing bytes)"));
  }
  const char* src = static_cast<const char*>(data) + h.data_offset;
  // Fortran order stores the transpose in C order: read with the shape reversed, then permute back.
  const std::vector<int64_t> storage_shape = h.fortran_order ? reversed(h.shape) : h.shape;

  torch::Tensor out;
  if (!t->widen) {
    out = torch::empty(storage_shape, torch::TensorOptions().dtype(t->stored));
    char* dst = static_cast<char*>(out.data_ptr());
    if (want > 0) std::memcpy(dst, src, static_cast<size_t>(want));
    if (h.byte_order == '>' && h.itemsize > 1) byteswap_inplace(dst, n, h.itemsize);
    if (t->stored == torch::kBool) {
      // A torch bool must be 0 or 1; NumPy treats any non-zero byte as True.
      auto* b = reinterpret_cast<uint8_t*>(dst);
      for (int64_t i = 0; i < n; ++i) b[i] = b[i] != 0;
    }
  } else {
    // u2 → int32, u4 → int64: exact, since every value fits.
    out = torch::empty(storage_shape, torch::TensorOptions().dtype(t->result));
    std::vector<char> item(static_cast<size_t>(h.itemsize));
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(item.data(), src + i * h.itemsize, item.size());
      if (h.byte_order == '>') std::reverse(item.begin(), item.end());
      if (h.itemsize == 2) {
        uint16_t v;
        std::memcpy(&v, item.data(), 2);
        out.data_ptr<int32_t>()[i] = v;
      } else {
        uint32_t v;
        std::memcpy(&v, item.data(), 4);
        out.data_ptr<int64_t>()[i] = v;
      }
    }
  }
  if (h.fortran_order && h.shape.size() > 1) {
    std::vector<int64_t> perm(h.shape.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(perm.size() - 1 - i);
    out = out.permute(perm).contiguous();
  }
  return out;
}

torch::Tensor read_npy(const std::string& path) {
  const std::string bytes = read_file_bytes(path);
  return parse_npy(bytes.data(), bytes.size(), path, "");
}

std::string npy_descr(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kHalf:
      return "<f2";
    case torch::kFloat:
      return "<f4";
    case torch::kDouble:
      return "<f8";
    case torch::kChar:
      return "|i1";
    case torch::kShort:
      return "<i2";
    case torch::kInt:
      return "<i4";
    case torch::kLong:
      return "<i8";
    case torch::kByte:
      return "|u1";
    case torch::kBool:
      return "|b1";
    default:
      throw DtypeError(std::string("npy: dtype ") + c10::toString(dtype) +
                       " has no NumPy equivalent (NumPy has no bfloat16); convert it first");
  }
}

std::string encode_npy(const torch::Tensor& tensor, const NpyWriteOptions& options) {
  std::string descr = npy_descr(tensor.scalar_type());
  const int64_t itemsize = static_cast<int64_t>(tensor.element_size());
  if (options.big_endian && itemsize > 1) descr[0] = '>';
  if (options.major < 0 || options.major > 3) {
    throw ValueError("npy: format version must be 0 (automatic), 1, 2 or 3, got " +
                     std::to_string(options.major));
  }

  // Python's repr of a tuple: "()", "(5,)", "(2, 3)".
  std::string shape = "(";
  for (int64_t i = 0; i < tensor.dim(); ++i) {
    if (i > 0) shape += ", ";
    shape += std::to_string(tensor.size(i));
  }
  if (tensor.dim() == 1) shape += ",";
  shape += ")";
  const std::string dict = "{'descr': '" + descr +
                           "', 'fortran_order': " + (options.fortran_order ? "True" : "False") +
                           ", 'shape': " + shape + ", }";

  auto padded_header = [&](size_t len_bytes) {
    const size_t preamble = kMagicLen + 2 + len_bytes;
    const size_t unpadded = preamble + dict.size() + 1;  // + '\n'
    const size_t total = (unpadded + kAlign - 1) / kAlign * kAlign;
    return dict + std::string(total - unpadded, ' ') + "\n";
  };
  int major = options.major;
  std::string header = padded_header(2);
  if (major == 0) major = header.size() <= 0xFFFF ? 1 : 2;
  if (major == 1 && header.size() > 0xFFFF) {
    throw ValueError("npy: header of " + std::to_string(header.size()) + " bytes does not fit format 1.0");
  }
  if (major != 1) header = padded_header(4);

  std::string out(kMagic, kMagicLen);
  out += static_cast<char>(major);
  out += '\0';
  const size_t len_bytes = major == 1 ? 2 : 4;
  for (size_t i = 0; i < len_bytes; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  out += header;

  torch::Tensor t = tensor.detach().to(torch::kCPU);
  if (options.fortran_order && t.dim() > 1) {
    std::vector<int64_t> perm(static_cast<size_t>(t.dim()));
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(perm.size() - 1 - i);
    t = t.permute(perm);
  }
  t = t.contiguous();
  const size_t data_offset = out.size();
  if (t.numel() > 0)
    out.append(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel() * itemsize));
  if (options.big_endian && itemsize > 1) byteswap_inplace(&out[data_offset], t.numel(), itemsize);
  return out;
}

void write_npy(const std::string& path, const torch::Tensor& tensor, const NpyWriteOptions& options) {
  write_file_atomic(path, encode_npy(tensor, options));
}

}  // namespace amt::io
