#include "reference/io/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "reference/core/checked.hpp"
#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/unique_fd.hpp"

// The format stores little-endian data and the reader hands out the file's bytes as tensors unchanged.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

namespace amt::io {
namespace {

using json = nlohmann::json;

// The same limit as the reference Rust reader, so that a file it refuses we refuse too.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// A valid header nests three levels (root object, tensor entry, shape array); anything much deeper is
// garbage, and bounding it keeps a hostile header from costing unbounded memory in the DOM.
constexpr int kMaxJsonDepth = 8;
constexpr const char* kMetadataKey = "__metadata__";

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
  size_t size;
};
constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kFloat64, 8},   {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8},   {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},     {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};
// Dtypes that the safetensors format defines but LibTorch 1.13 cannot represent: named separately so that
// the error says "unsupported" rather than "unknown".
constexpr const char* kForeignDtypes[] = {"U16",     "U32", "U64",     "F8_E4M3", "F8_E5M2",
                                          "F8_E8M0", "F4",  "F6_E2M3", "F6_E3M2", "C64"};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}
const DtypeInfo* find_dtype(torch::ScalarType type) {
  for (const auto& d : kDtypes)
    if (type == d.type) return &d;
  return nullptr;
}

std::string errno_text(int err) {
  return std::strerror(err);
}

// Owns one read-only-file, copy-on-write mapping. Tensors that alias it hold a shared_ptr in their deleter,
// so the mapping lives exactly as long as the last such tensor.
class Mapping {
 public:
  Mapping(void* addr, size_t size) : addr_(addr), size_(size) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (addr_ != nullptr) munmap(addr_, size_);
  }
  char* data() const { return static_cast<char*>(addr_); }
  size_t size() const { return size_; }

 private:
  void* addr_;
  size_t size_;
};

struct OpenedFile {
  std::shared_ptr<Mapping> map;  // null when the file is empty (mmap cannot map zero bytes)
  size_t size = 0;
};

OpenedFile map_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw IoError(path, "cannot open for reading: " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw IoError(path, "cannot stat: " + errno_text(errno));
  // Mapping a FIFO or device could block or misreport its size; only regular files have a size to trust.
  if (!S_ISREG(st.st_mode)) throw IoError(path, "not a regular file");
  OpenedFile out;
  out.size = static_cast<size_t>(st.st_size);
  if (out.size == 0) return out;
  // PROT_WRITE on a MAP_PRIVATE mapping lets callers modify the tensors in place (copy-on-write, the file
  // never changes) instead of crashing on a read-only page.
  void* addr = ::mmap(nullptr, out.size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get(), 0);
  if (addr == MAP_FAILED) throw IoError(path, "cannot map into memory: " + errno_text(errno));
  out.map = std::make_shared<Mapping>(addr, out.size);
  return out;
}

// Raises on duplicate keys (nlohmann keeps only the last, silently) and on absurd nesting, while the DOM
// is being built. Tracks the current top-level key so that errors can name the tensor.
class HeaderParseGuard {
 public:
  explicit HeaderParseGuard(const std::string& path) : path_(path) {}

  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth)
          throw FormatError(path_, field(),
                            "header JSON nests deeper than " + std::to_string(kMaxJsonDepth) +
                                " levels; a safetensors header has 3");
        scopes_.emplace_back();
        is_object_.push_back(event == json::parse_event_t::object_start);
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!scopes_.empty()) {
          scopes_.pop_back();
          is_object_.pop_back();
        }
        break;
      case json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (depth == 1) top_key_ = key;
        if (!scopes_.empty() && is_object_.back() && !scopes_.back().insert(key).second) {
          if (depth == 1) throw FormatError(path_, key, "the header names \"" + key + "\" more than once");
          throw FormatError(path_, field(), "key \"" + key + "\" appears more than once in this entry");
        }
        break;
      }
      case json::parse_event_t::value:
        break;
    }
    return true;
  }

 private:
  std::string field() const { return top_key_ ? *top_key_ : std::string(); }
  const std::string& path_;
  std::vector<std::set<std::string>> scopes_;
  std::vector<bool> is_object_;
  std::optional<std::string> top_key_;
};

std::string type_name(const json& j) {
  return j.type_name();
}

// A JSON integer that is >= 0 and fits uint64. `what` describes the field for the error message.
uint64_t get_unsigned(const std::string& path, const std::string& name, const json& j, const char* what) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) {
    const int64_t v = j.get<int64_t>();
    if (v < 0) throw FormatError(path, name, std::string(what) + " is negative (" + std::to_string(v) + ")");
    return static_cast<uint64_t>(v);
  }
  throw FormatError(
      path, name,
      std::string(what) + " must be a non-negative integer, not " + type_name(j) + " " + j.dump());
}

struct ParsedHeader {
  std::vector<SafetensorsEntry> entries;  // sorted by data offsets
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // absolute file offset of the data section
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

SafetensorsEntry parse_entry(const std::string& path, const std::string& name, const json& j) {
  if (!j.is_object())
    throw FormatError(path, name, "tensor entry must be a JSON object, not " + type_name(j));
  SafetensorsEntry e;
  e.name = name;

  const auto dtype_it = j.find("dtype");
  if (dtype_it == j.end()) throw FormatError(path, name, "tensor entry has no \"dtype\"");
  if (!dtype_it->is_string())
    throw FormatError(path, name, "\"dtype\" must be a string, not " + type_name(*dtype_it));
  const std::string& dtype_name = dtype_it->get_ref<const std::string&>();
  const DtypeInfo* dtype = find_dtype(dtype_name);
  if (dtype == nullptr) {
    for (const char* foreign : kForeignDtypes)
      if (dtype_name == foreign)
        throw FormatError(path, name, "dtype " + dtype_name + " has no LibTorch 1.13 equivalent");
    throw FormatError(
        path, name, "unknown dtype " + json(dtype_name).dump(-1, ' ', false, json::error_handler_t::replace));
  }
  e.dtype = dtype->type;

  const auto shape_it = j.find("shape");
  if (shape_it == j.end()) throw FormatError(path, name, "tensor entry has no \"shape\"");
  if (!shape_it->is_array())
    throw FormatError(path, name, "\"shape\" must be an array, not " + type_name(*shape_it));
  // Strides are products of trailing extents (with 0 counted as 1), so every such product must fit int64
  // or LibTorch would overflow computing them; numel is checked separately below against the byte range.
  const auto too_many = [&] {
    return FormatError(path, name, "shape " + shape_it->dump() + " has more elements than int64 can count");
  };
  for (const json& d : *shape_it) {
    const uint64_t dim = get_unsigned(path, name, d, "shape dimension");
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) throw too_many();
    e.shape.push_back(static_cast<int64_t>(dim));
  }
  int64_t numel = 1;
  try {
    checked_stride_product(e.shape, 1, "safetensors shape");
    for (int64_t dim : e.shape) numel *= dim;  // cannot overflow: numel <= the stride product
  } catch (const ValueError&) {
    throw too_many();
  }

  const auto off_it = j.find("data_offsets");
  if (off_it == j.end()) throw FormatError(path, name, "tensor entry has no \"data_offsets\"");
  if (!off_it->is_array() || off_it->size() != 2)
    throw FormatError(
        path, name,
        "\"data_offsets\" must be an array [begin, end], not " +
            (off_it->is_array() ? "an array of " + std::to_string(off_it->size()) : type_name(*off_it)));
  e.begin = get_unsigned(path, name, (*off_it)[0], "data_offsets begin");
  e.end = get_unsigned(path, name, (*off_it)[1], "data_offsets end");
  if (e.begin > e.end)
    throw FormatError(
        path, name,
        "data_offsets begin " + std::to_string(e.begin) + " is past end " + std::to_string(e.end));

  int64_t nbytes = -1;
  try {
    nbytes = checked_mul(numel, static_cast<int64_t>(dtype->size), "safetensors tensor bytes");
  } catch (const ValueError&) {
  }
  if (nbytes < 0 || static_cast<uint64_t>(nbytes) != e.end - e.begin)
    throw FormatError(path, name,
                      "shape " + shape_text(e.shape) + " of " + dtype->name + " needs " +
                          (nbytes < 0 ? std::string("more than 2^63") : std::to_string(nbytes)) +
                          " bytes but data_offsets [" + std::to_string(e.begin) + "," +
                          std::to_string(e.end) + "] hold " + std::to_string(e.end - e.begin));
  return e;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& j) {
  std::map<std::string, std::string> out;
  // serde's Option<HashMap> in the reference reader accepts null as "no metadata"; so do we.
  if (j.is_null()) return out;
  if (!j.is_object())
    throw FormatError(path, kMetadataKey, "must be an object of strings, not " + type_name(j));
  for (const auto& [key, value] : j.items()) {
    if (!value.is_string())
      throw FormatError(path, std::string(kMetadataKey) + "." + key,
                        "metadata values must be strings, not " + type_name(value));
    out.emplace(key, value.get<std::string>());
  }
  return out;
}

// Parses and validates the header against a file of `file_size` bytes whose first bytes are `bytes`
// (at least min(file_size, 8 + header length) of them).
ParsedHeader parse_header(const std::string& path, const char* bytes, uint64_t file_size) {
  if (file_size < 8)
    throw FormatError(
        path, "", "file is " + std::to_string(file_size) + " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  if (n > kMaxHeaderBytes)
    throw FormatError(path, "",
                      "header length " + std::to_string(n) + " exceeds the " +
                          std::to_string(kMaxHeaderBytes) + "-byte limit");
  if (n > file_size - 8)
    throw FormatError(path, "",
                      "header length " + std::to_string(n) + " runs past the end of the " +
                          std::to_string(file_size) + "-byte file");

  // nlohmann treats a NUL byte as the end of input, which would accept "{}\0garbage"; raw NUL is never
  // valid JSON text, so it is refused here as the reference reader refuses it.
  if (const void* nul = std::memchr(bytes + 8, '\0', n))
    throw FormatError(path, "",
                      "header is not valid JSON: NUL byte at header offset " +
                          std::to_string(static_cast<const char*>(nul) - (bytes + 8)));
  json root;
  try {
    HeaderParseGuard guard(path);
    root = json::parse(bytes + 8, bytes + 8 + n, std::ref(guard), /*allow_exceptions=*/true);
  } catch (const json::exception& e) {
    throw FormatError(path, "", std::string("header is not valid JSON: ") + e.what());
  }
  if (!root.is_object()) throw FormatError(path, "", "header must be a JSON object, not " + type_name(root));

  ParsedHeader out;
  out.data_start = 8 + n;
  for (const auto& [key, value] : root.items()) {
    if (key == kMetadataKey)
      out.metadata = parse_metadata(path, value);
    else
      out.entries.push_back(parse_entry(path, key, value));
  }

  // Like the reference reader: in offset order the ranges must tile the data section exactly.
  std::sort(out.entries.begin(), out.entries.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  const uint64_t data_size = file_size - out.data_start;
  uint64_t covered = 0;
  const SafetensorsEntry* prev = nullptr;
  for (const auto& e : out.entries) {
    if (e.end > data_size)
      throw FormatError(path, e.name,
                        "data_offsets [" + std::to_string(e.begin) + "," + std::to_string(e.end) +
                            "] run past the " + std::to_string(data_size) + "-byte data section");
    if (e.begin < covered)
      throw FormatError(path, e.name,
                        "data_offsets [" + std::to_string(e.begin) + "," + std::to_string(e.end) +
                            "] overlap tensor \"" + prev->name + "\" (which ends at " +
                            std::to_string(covered) + ")");
    if (e.begin > covered)
      throw FormatError(path, e.name,
                        "data_offsets begin " + std::to_string(e.begin) + " leaves a gap of " +
                            std::to_string(e.begin - covered) + " bytes after " +
                            (prev ? "tensor \"" + prev->name + "\"" : "the header"));
    covered = e.end;
    prev = &e;
  }
  if (covered != data_size)
    throw FormatError(path, prev ? prev->name : "",
                      std::to_string(data_size - covered) +
                          " bytes after the last tensor are not covered by any "
                          "tensor's data_offsets");
  return out;
}

[[noreturn]] void throw_io(const std::string& path, const std::string& what, int err) {
  throw IoError(path, what + ": " + errno_text(err));
}

void write_all(int fd, const char* data, size_t n, const std::string& path, const std::string& tmp) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, std::min<size_t>(n, size_t{1} << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_io(path, "cannot write " + tmp, errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
}

// Removes the temporary file unless the rename succeeded, so a failed write leaves nothing behind.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (!committed_) ::unlink(path_.c_str());
  }
  void commit() { committed_ = true; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool committed_ = false;
};

std::string json_string(const std::string& path, const std::string& field, const std::string& s) {
  try {
    return json(s).dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::exception&) {
    throw ValueError(path + " [" + field + "]: not valid UTF-8, so it cannot be stored in a JSON header");
  }
}

}  // namespace

const torch::Tensor& Safetensors::at(const std::string& name) const {
  const auto it = tensors.find(name);
  if (it == tensors.end()) throw FormatError(path, name, "no tensor of that name in the file");
  return it->second;
}

std::string safetensors_dtype_name(torch::ScalarType dtype) {
  if (const DtypeInfo* d = find_dtype(dtype)) return d->name;
  throw DtypeError(std::string("dtype ") + c10::toString(dtype) +
                   " cannot be stored in safetensors "
                   "(supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
}

torch::ScalarType safetensors_dtype_from_name(const std::string& name) {
  if (const DtypeInfo* d = find_dtype(name)) return d->type;
  throw DtypeError("unknown or unsupported safetensors dtype " +
                   json(name).dump(-1, ' ', false, json::error_handler_t::replace));
}

std::vector<SafetensorsEntry> read_safetensors_header(const std::string& path,
                                                      std::map<std::string, std::string>* metadata) {
  const OpenedFile file = map_file(path);
  ParsedHeader header = parse_header(path, file.map ? file.map->data() : "", file.size);
  if (metadata != nullptr) *metadata = std::move(header.metadata);
  return std::move(header.entries);
}

namespace {

// Builds the tensors of a validated file whose bytes start at `base`. With `keep` set, aligned tensors
// alias those bytes and hold `keep` alive; without it every tensor is a copy.
Safetensors build_tensors(const std::string& path, char* base, ParsedHeader header,
                          const std::shared_ptr<Mapping>& keep) {
  Safetensors out;
  out.path = path;
  out.metadata = std::move(header.metadata);
  for (const SafetensorsEntry& e : header.entries) {
    const auto options = torch::TensorOptions().dtype(e.dtype);
    const size_t nbytes = e.end - e.begin;
    torch::Tensor t;
    if (nbytes == 0) {
      t = torch::empty(e.shape, options);
    } else {
      char* src = base + header.data_start + e.begin;
      if (e.dtype == torch::kBool) {
        // A bool byte other than 0/1 is undefined behaviour once LibTorch loads it as bool.
        const auto* p = reinterpret_cast<const unsigned char*>(src);
        const auto* bad = std::find_if(p, p + nbytes, [](unsigned char c) { return c > 1; });
        if (bad != p + nbytes)
          throw FormatError(path, e.name,
                            "BOOL element " + std::to_string(bad - p) + " holds byte " +
                                std::to_string(*bad) + "; only 0 and 1 are valid");
      }
      const size_t elem = find_dtype(e.dtype)->size;
      if (keep && reinterpret_cast<uintptr_t>(src) % elem == 0) {
        t = torch::from_blob(
            src, e.shape, [keep](void*) {}, options);
      } else {
        // Misaligned typed loads are UB and some kernels assume alignment, so this one tensor is copied.
        // (A tensor aliasing the mapping allocates nothing, so only copies count against the ceiling.)
        check_tensor_bytes(static_cast<int64_t>(nbytes), path + " [" + e.name + "]: tensor");
        t = torch::empty(e.shape, options);
        std::memcpy(t.data_ptr(), src, nbytes);
      }
    }
    out.names.push_back(e.name);
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

}  // namespace

Safetensors read_safetensors(const std::string& path) {
  const OpenedFile file = map_file(path);
  char* base = file.map ? file.map->data() : nullptr;
  ParsedHeader header = parse_header(path, base ? base : "", file.size);
  return build_tensors(path, base, std::move(header), file.map);
}

Safetensors parse_safetensors(const void* data, size_t size, const std::string& name) {
  // The bytes are only read; build_tensors takes char* because aliasing tensors (not made here) are writable.
  char* base = const_cast<char*>(static_cast<const char*>(data));
  ParsedHeader header = parse_header(name, size == 0 ? "" : base, size);
  return build_tensors(name, base, std::move(header), nullptr);
}

void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // Everything that can be refused is checked before the temporary file exists.
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) header += ",";
      first = false;
      header += json_string(path, std::string(kMetadataKey) + "." + key, key) + ":" +
                json_string(path, std::string(kMetadataKey) + "." + key, value);
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == kMetadataKey)
      throw ValueError(path + " [" + name + "]: a tensor cannot be named " + kMetadataKey +
                       " (the key is reserved for metadata)");
    if (!t.defined()) throw ValueError(path + " [" + name + "]: tensor is undefined");
    if (t.is_meta()) throw ValueError(path + " [" + name + "]: a meta tensor has no data to write");
    const DtypeInfo* d = find_dtype(t.scalar_type());
    if (d == nullptr)
      throw DtypeError(
          path + " [" + name + "]: dtype " + c10::toString(t.scalar_type()) +
          " cannot be stored in safetensors (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * d->size;
    if (header.size() > 1) header += ",";
    header += json_string(path, name, name) + ":{\"dtype\":\"" + d->name + "\",\"shape\":[";
    for (int64_t i = 0; i < t.dim(); ++i) header += (i ? "," : "") + std::to_string(t.size(i));
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + nbytes) + "]}";
    offset += nbytes;
  }
  header += "}";
  // The reference writer pads with spaces so that the data section starts 8-byte aligned.
  header.append((8 - header.size() % 8) % 8, ' ');

  TempFile tmp(path + ".tmp." + std::to_string(::getpid()));
  UniqueFd fd(::open(tmp.path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  if (fd.get() < 0) throw_io(path, "cannot create " + tmp.path(), errno);

  char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((uint64_t{header.size()} >> (8 * i)) & 0xff);
  write_all(fd.get(), len, 8, path, tmp.path());
  write_all(fd.get(), header.data(), header.size(), path, tmp.path());
  for (const auto& [name, t] : tensors) {
    // One tensor at a time, so a model on another device is never copied to the CPU all at once.
    torch::Tensor c = t.detach();
    if (c.layout() != torch::kStrided) c = c.to_dense();
    // A lazily negated view (the imaginary part of a conjugate) holds un-negated bytes until resolved.
    c = c.to(torch::kCPU).resolve_conj().resolve_neg().contiguous();
    const size_t nbytes = static_cast<size_t>(c.numel()) * c.element_size();
    if (nbytes > 0) write_all(fd.get(), static_cast<const char*>(c.data_ptr()), nbytes, path, tmp.path());
  }
  if (::fsync(fd.get()) != 0) throw_io(path, "cannot fsync " + tmp.path(), errno);
  if (::close(fd.release()) != 0) throw_io(path, "cannot close " + tmp.path(), errno);
  if (::rename(tmp.path().c_str(), path.c_str()) != 0) throw_io(path, "cannot rename " + tmp.path(), errno);
  tmp.commit();

  // Without syncing the folder, a power loss right after rename could still lose the new name.
  sync_parent_directory(path);
}

}  // namespace amt::io
