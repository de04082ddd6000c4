#include "reference/io/npz.hpp"

#include <zip.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"
#include "reference/io/file_bytes.hpp"

namespace amt::io {
namespace {

constexpr const char* kSuffix = ".npy";
// A fixed member timestamp (2020-01-01 UTC) keeps archives reproducible byte for byte.
constexpr time_t kMemberMtime = 1577836800;
constexpr size_t kChunk = 1 << 20;

std::string strip_suffix(const std::string& member) {
  const std::string suffix = kSuffix;
  if (member.size() > suffix.size() &&
      member.compare(member.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return member.substr(0, member.size() - suffix.size());
  }
  return member;
}

// Owns a zip_error_t.
struct ZipError {
  zip_error_t e;
  ZipError() { zip_error_init(&e); }
  ~ZipError() { zip_error_fini(&e); }
  std::string text() { return zip_error_strerror(&e); }
};

}  // namespace

// The archive bytes and the libzip handle reading them (the handle points into `bytes`).
struct NpzReader::Archive {
  std::string bytes;
  zip_t* za = nullptr;
  ~Archive() {
    if (za != nullptr) zip_discard(za);
  }
};

NpzReader::NpzReader(const std::string& path) : NpzReader(read_file_bytes(path), path) {}

NpzReader::NpzReader(std::string bytes, std::string file) : file_(std::move(file)), archive_(new Archive) {
  archive_->bytes = std::move(bytes);
  // libzip treats zero bytes as a new, empty archive; on disk that is a truncated file, not an npz.
  if (archive_->bytes.size() < 22) {
    throw FormatError(file_, "",
                      "not a valid npz (zip) archive: " + std::to_string(archive_->bytes.size()) +
                          " bytes is shorter than a zip end-of-directory record");
  }
  ZipError err;
  zip_source_t* src = zip_source_buffer_create(archive_->bytes.data(), archive_->bytes.size(), 0, &err.e);
  if (src == nullptr) throw FormatError(file_, "", "cannot open zip source: " + err.text());
  // ZIP_CHECKCONS: compare the central directory with the local headers, so a damaged archive is refused here
  // instead of yielding garbage later.
  archive_->za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err.e);
  if (archive_->za == nullptr) {
    zip_source_free(src);
    throw FormatError(file_, "", "not a valid npz (zip) archive: " + err.text());
  }
  const zip_int64_t n = zip_get_num_entries(archive_->za, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* raw = zip_get_name(archive_->za, static_cast<zip_uint64_t>(i), 0);
    if (raw == nullptr) {
      throw FormatError(file_, "", "zip entry " + std::to_string(i) + " has no readable name");
    }
    const std::string name = strip_suffix(raw);
    if (!index_.emplace(name, static_cast<uint64_t>(i)).second) {
      throw FormatError(file_, name, "the archive holds this array twice");
    }
    names_.push_back(name);
  }
}

NpzReader::~NpzReader() = default;
NpzReader::NpzReader(NpzReader&&) noexcept = default;
NpzReader& NpzReader::operator=(NpzReader&&) noexcept = default;

bool NpzReader::has(const std::string& name) const {
  return index_.count(name) != 0;
}

torch::Tensor NpzReader::read(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) {
    std::string present;
    for (const auto& n : names_) present += (present.empty() ? "" : ", ") + n;
    throw FormatError(file_, name, "no such array in the npz; present: [" + present + "]");
  }
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(archive_->za, it->second, 0, &st) != 0 || (st.valid & ZIP_STAT_SIZE) == 0) {
    throw FormatError(file_, name, std::string("cannot stat zip member: ") + zip_strerror(archive_->za));
  }
  // The member's declared size, before anything is inflated: an npy header plus at most the tensor ceiling
  // (a damaged or hostile archive may claim, and really inflate to, gigabytes).
  constexpr uint64_t kHeaderSlack = uint64_t{1} << 16;
  const uint64_t ceiling = static_cast<uint64_t>(limits().max_tensor_bytes) + kHeaderSlack;
  if (st.size > ceiling) {
    throw LimitError(file_ + " [" + name + "]: zip member inflates to " + std::to_string(st.size) +
                     " bytes, more than the tensor-bytes ceiling " +
                     std::to_string(limits().max_tensor_bytes) +
                     " (AMT_MAX_TENSOR_BYTES) + 64 KiB of header");
  }
  zip_file_t* zf = zip_fopen_index(archive_->za, it->second, 0);
  if (zf == nullptr) {
    throw FormatError(file_, name, std::string("cannot open zip member: ") + zip_strerror(archive_->za));
  }
  // Read in chunks instead of trusting the declared size for one allocation: a damaged header may claim
  // gigabytes, while the memory used here stays bounded by the data that really inflates.
  std::string data;
  std::string chunk(kChunk, '\0');
  for (;;) {
    const zip_int64_t got = zip_fread(zf, &chunk[0], chunk.size());
    if (got < 0) {
      const std::string why = zip_file_strerror(zf);
      zip_fclose(zf);
      throw FormatError(file_, name, "corrupt zip member: " + why);
    }
    if (got == 0) break;
    data.append(chunk.data(), static_cast<size_t>(got));
    if (data.size() > st.size) break;
  }
  zip_fclose(zf);
  if (data.size() != st.size) {
    throw FormatError(file_, name,
                      "zip member inflates to " + std::to_string(data.size()) + " bytes, its header says " +
                          std::to_string(st.size));
  }
  return parse_npy(data.data(), data.size(), file_, name);
}

NpzArrays NpzReader::read_all() const {
  NpzArrays out;
  for (const auto& n : names_) out.emplace_back(n, read(n));
  return out;
}

std::map<std::string, torch::Tensor> read_npz(const std::string& path) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, t] : NpzReader(path).read_all()) out.emplace(name, std::move(t));
  return out;
}

std::string encode_npz(const NpzArrays& arrays, const NpzWriteOptions& options) {
  if (options.level < 0 || options.level > 9) {
    throw ValueError("npz: deflate level must be 0..9, got " + std::to_string(options.level));
  }
  std::set<std::string> seen;
  // libzip reads member data at zip_close(), so every encoded member must outlive the archive handle.
  std::vector<std::string> members;
  members.reserve(arrays.size());
  for (const auto& [name, tensor] : arrays) {
    if (name.empty()) throw ValueError("npz: array names must be non-empty");
    if (!seen.insert(name).second) throw ValueError("npz: array name '" + name + "' appears twice");
    try {
      members.push_back(encode_npy(tensor, options.npy));
    } catch (const DtypeError& e) {
      throw DtypeError("npz array '" + name + "': " + e.what());
    }
  }

  // libzip deletes an archive that ends up with no members; NumPy writes the bare end-of-directory record.
  if (arrays.empty()) return std::string("PK\x05\x06", 4) + std::string(18, '\0');

  ZipError err;
  zip_source_t* out = zip_source_buffer_create(nullptr, 0, 0, &err.e);
  if (out == nullptr) throw Error("npz: cannot create an in-memory zip: " + err.text());
  zip_source_keep(out);  // survive zip_close so the finished bytes can be read back
  struct SourceGuard {
    zip_source_t* s;
    ~SourceGuard() { zip_source_free(s); }
  } out_guard{out};
  zip_t* za = zip_open_from_source(out, ZIP_TRUNCATE, &err.e);
  if (za == nullptr) throw Error("npz: cannot open an in-memory zip: " + err.text());

  auto fail = [&](const std::string& what) {
    const std::string why = zip_strerror(za);
    zip_discard(za);
    throw Error("npz: " + what + ": " + why);
  };
  for (size_t i = 0; i < arrays.size(); ++i) {
    zip_source_t* member = zip_source_buffer(za, members[i].data(), members[i].size(), 0);
    if (member == nullptr) fail("cannot add member " + arrays[i].first);
    const std::string member_name = arrays[i].first + kSuffix;
    const zip_int64_t idx = zip_file_add(za, member_name.c_str(), member, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(member);
      fail("cannot add member " + member_name);
    }
    const auto uidx = static_cast<zip_uint64_t>(idx);
    if (zip_set_file_compression(za, uidx, options.compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE,
                                 static_cast<zip_uint32_t>(options.level)) != 0) {
      fail("cannot set compression of " + member_name);
    }
    if (zip_file_set_mtime(za, uidx, kMemberMtime, 0) != 0) fail("cannot set the time of " + member_name);
  }
  if (zip_close(za) != 0) fail("cannot finish the archive");

  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_source_stat(out, &st) != 0 || zip_source_open(out) != 0) {
    throw Error(std::string("npz: cannot read the finished archive: ") +
                zip_error_strerror(zip_source_error(out)));
  }
  std::string bytes(static_cast<size_t>(st.size), '\0');
  const zip_int64_t got = bytes.empty() ? 0 : zip_source_read(out, &bytes[0], bytes.size());
  zip_source_close(out);
  if (got != static_cast<zip_int64_t>(bytes.size())) throw Error("npz: short read of the finished archive");
  return bytes;
}

void write_npz(const std::string& path, const NpzArrays& arrays, const NpzWriteOptions& options, bool sync) {
  write_file_atomic(path, encode_npz(arrays, options), sync);
}

}  // namespace amt::io
