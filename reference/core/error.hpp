// The error hierarchy. Library code never prints: it returns values or throws one of these.
// Every error that concerns a file names the file and the field (tensor, key, array) at fault.
#pragma once
#include <stdexcept>
#include <string>

namespace amt {

// Base of everything AMT-Ref throws on purpose.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A file could not be opened, read, written or renamed (the OS said no).
class IoError : public Error {
 public:
  IoError(std::string file, const std::string& what) : Error(file + ": " + what), file_(std::move(file)) {}
  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

// A file's content is malformed. `field` names the tensor, array, key or header part at fault
// ("" when the fault is in the file as a whole).
class FormatError : public Error {
 public:
  FormatError(std::string file, std::string field, const std::string& what)
      : Error(file + (field.empty() ? "" : " [" + field + "]") + ": " + what),
        file_(std::move(file)),
        field_(std::move(field)) {}
  const std::string& file() const { return file_; }
  const std::string& field() const { return field_; }

 private:
  std::string file_;
  std::string field_;
};

// A tensor has the wrong shape for the operation (image not a multiple of the patch, grid not
// divisible by the shuffle factor, ...). The message states the numbers involved.
class ShapeError : public Error {
 public:
  using Error::Error;
};

// A tensor has a dtype the operation cannot accept.
class DtypeError : public Error {
 public:
  using Error::Error;
};

// A documented refusal: the request is well-formed but this build cannot do it (fp16 compute on
// a CPU-only LibTorch, for example). The message names what is missing.
class UnsupportedError : public Error {
 public:
  using Error::Error;
};

// A configuration (YAML, CLI flags, JSON config) is invalid.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// Loading weights failed; the message lists every missing, unexpected, mis-shaped and mistyped key.
class CheckpointError : public Error {
 public:
  using Error::Error;
};

// Input values are invalid (NaN/Inf at the boundary, a degenerate camera, ...).
class ValueError : public Error {
 public:
  using Error::Error;
};

// Re-throws `e` as the same error type with `prefix` in front of its message, so an error raised deep inside
// (a shape check, say) names the input file it came from.
template <class E>
[[noreturn]] void rethrow_with_prefix(const E& e, const std::string& prefix) {
  throw E(prefix + e.what());
}

}  // namespace amt
