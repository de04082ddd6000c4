// NumPy .npy reading and writing (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
//
//   "\x93NUMPY" major minor | header length (u16 LE for 1.0, u32 LE for 2.0/3.0) | header | data
//   header = a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (1, 21, 3), } padded
//   with
//            spaces and ended by '\n' (latin-1 for 1.0/2.0, utf-8 for 3.0).
//
// Dtypes (descr kind+size → torch): f2 f4 f8 → Half Float Double; i1 i2 i4 i8 → Char Short Int Long; u1 →
// Byte; b1 → Bool; u2 and u4 are widened to Int and Long on read (LibTorch 1.13 has no unsigned 16/32-bit
// type; the widening is lossless). Byte orders '<', '>', '|' (one-byte types) and '=' (native, little-endian
// here). Both C and Fortran order are read; the tensor always comes back C-contiguous in native byte order.
// Every malformation throws amt::FormatError(file, field, what) where `field` is the array's name (the npz
// member name, or "" for a lone .npy file); an unreadable file throws amt::IoError.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace amt::io {

struct NpyHeader {
  int major = 1, minor = 0;  // format version
  std::string descr;         // as written, e.g. "<f4"
  char byte_order = '<';     // '<', '>' or '|'  ('=' is normalised to '<')
  char kind = 'f';           // 'f', 'i', 'u', 'b'
  int64_t itemsize = 4;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;  // bytes from the start of the file to the data
  int64_t numel() const;
  int64_t data_bytes() const { return numel() * itemsize; }
};

// Parses the preamble and header of an .npy byte string. `file` and `field` name it in errors.
NpyHeader parse_npy_header(const void* data, size_t size, const std::string& file, const std::string& field);

// Decodes a whole .npy byte string. The data must be exactly shape×itemsize bytes (FormatError otherwise).
torch::Tensor parse_npy(const void* data, size_t size, const std::string& file, const std::string& field);

// Reads a .npy file.
torch::Tensor read_npy(const std::string& path);

struct NpyWriteOptions {
  bool fortran_order = false;
  bool big_endian = false;  // '>' instead of '<' for multi-byte dtypes
  int major = 0;  // 0: the smallest version that fits (1.0, or 2.0 for headers ≥ 64 KiB); or 1, 2, 3
};

// Encodes a tensor (any device/layout; copied to CPU) as an .npy byte string. Writable dtypes: Half, Float,
// Double, Char, Short, Int, Long, Byte, Bool. BFloat16 and complex types have no NumPy dtype:
// amt::DtypeError. The header is padded so that the data starts at a multiple of 64 bytes, as NumPy ≥ 1.24
// writes it.
std::string encode_npy(const torch::Tensor& tensor, const NpyWriteOptions& options = {});

// Writes an .npy file (atomically: temporary file, then rename).
void write_npy(const std::string& path, const torch::Tensor& tensor, const NpyWriteOptions& options = {});

// The npy descr (little-endian form, e.g. "<f4", "|u1") for a torch dtype; amt::DtypeError if there is none.
std::string npy_descr(torch::ScalarType dtype);

}  // namespace amt::io
