// safetensors reading and writing (https://github.com/huggingface/safetensors, format v0.x):
// 8-byte little-endian header length N, N bytes of JSON header, then the raw little-endian data.
// Dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL. Tensors keep their file order in `names`.
#pragma once
#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

namespace amt::io {

struct Safetensors {
  std::vector<std::string> names;                // in the order of their data offsets in the file
  std::map<std::string, torch::Tensor> tensors;  // CPU tensors, contiguous
  std::map<std::string, std::string> metadata;   // the optional "__metadata__" object (string → string)

  const torch::Tensor& at(const std::string& name) const;  // throws FormatError naming the file when absent
  bool has(const std::string& name) const { return tensors.count(name) != 0; }
  std::string path;  // the file this was read from (parse_safetensors: the name it was given)
};

// Reads a whole file. The file is memory-mapped (copy-on-write) and tensors alias the mapping when their
// data is suitably aligned, so a large checkpoint is not copied twice. Any malformation throws
// amt::FormatError naming the file and the tensor; an unreadable file throws amt::IoError.
Safetensors read_safetensors(const std::string& path);

// Parses a whole file that is already in memory (embedded data, fuzzing). `name` stands for the file in
// error messages and in Safetensors::path. Every tensor is a copy: nothing aliases `data` afterwards.
Safetensors parse_safetensors(const void* data, size_t size, const std::string& name);

// Parses a header only (names, dtypes, shapes, offsets) without touching the data: for listing files.
struct SafetensorsEntry {
  std::string name;
  torch::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets relative to the start of the data section
};
std::vector<SafetensorsEntry> read_safetensors_header(const std::string& path,
                                                      std::map<std::string, std::string>* metadata = nullptr);

// Writes tensors (any device, any layout; moved to CPU and made contiguous) in the order given by the map
// (sorted by name, as older Python writers did; current ones put wider dtypes first, which only affects
// alignment, and the reader copies misaligned tensors). Atomic: writes PATH.tmp.<pid>, fsyncs, renames, so
// a crash never leaves a half-written file under PATH. Unsupported dtypes throw amt::DtypeError naming the
// tensor; undefined or meta tensors and the reserved name "__metadata__" throw amt::ValueError; OS failures
// throw amt::IoError naming PATH.
void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Dtype names as safetensors spells them ("F32", "BF16", ...). Unknown → amt::DtypeError.
std::string safetensors_dtype_name(torch::ScalarType dtype);
torch::ScalarType safetensors_dtype_from_name(const std::string& name);  // throws amt::DtypeError

}  // namespace amt::io
