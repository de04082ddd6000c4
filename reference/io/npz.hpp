// NumPy .npz archives: a zip file (through libzip) whose members NAME.npy each hold one array (npy.hpp).
// Reading accepts deflate-compressed and stored members (np.savez_compressed and np.savez); arrays are
// decoded lazily, one member at a time, so a caller that needs joint_3d never inflates a 300 KB segmentation
// mask. Writing produces deflate-compressed members that numpy.load reads.
//
// Errors: a corrupt or non-zip file, a CRC mismatch, a truncated member → amt::FormatError(file, member,
// ...); a missing array → amt::FormatError(file, name, "no such array; present: ..."); malformed npy content
// → the npy reader's FormatError with the array's name as the field. An unreadable file → amt::IoError.
#pragma once
#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "reference/io/npy.hpp"

namespace amt::io {

// Arrays in archive order (np.savez keeps the keyword order; so does the writer).
using NpzArrays = std::vector<std::pair<std::string, torch::Tensor>>;

class NpzReader {
 public:
  // Reads and indexes the archive at `path` (the whole file is held in memory).
  explicit NpzReader(const std::string& path);
  // Indexes an archive already in memory; `file` names it in errors.
  NpzReader(std::string bytes, std::string file);
  ~NpzReader();
  NpzReader(NpzReader&&) noexcept;
  NpzReader& operator=(NpzReader&&) noexcept;
  NpzReader(const NpzReader&) = delete;
  NpzReader& operator=(const NpzReader&) = delete;

  const std::string& file() const { return file_; }
  // Array names (member names with ".npy" removed), in archive order.
  const std::vector<std::string>& names() const { return names_; }
  bool has(const std::string& name) const;
  // Inflates and decodes one array.
  torch::Tensor read(const std::string& name) const;
  // Every array, in archive order.
  NpzArrays read_all() const;

 private:
  struct Archive;
  std::string file_;
  std::unique_ptr<Archive> archive_;
  std::vector<std::string> names_;
  std::map<std::string, uint64_t> index_;  // array name → zip entry index
};

// Every array of the archive at `path`, by name.
std::map<std::string, torch::Tensor> read_npz(const std::string& path);

struct NpzWriteOptions {
  bool compress = true;  // deflate (np.savez_compressed); false: stored (np.savez)
  int level = 0;         // deflate level 1..9; 0 = libzip's default
  NpyWriteOptions npy;   // how each member is encoded
};

// Encodes arrays as an .npz archive in memory. Names must be unique and non-empty (amt::ValueError); dtypes
// as in encode_npy. Member timestamps are fixed, so equal inputs give byte-identical archives.
std::string encode_npz(const NpzArrays& arrays, const NpzWriteOptions& options = {});

// Writes an .npz file atomically (temporary file, fsync unless !sync, rename).
void write_npz(const std::string& path, const NpzArrays& arrays, const NpzWriteOptions& options = {},
               bool sync = true);

}  // namespace amt::io
