// What an exception says, classified once for the two places that show one: a program's one-line error
// (program/run_reporting_errors.cpp) and a property's failed check (conformance/lib/properties.cpp).
#pragma once
#include <exception>
#include <string>

namespace amt {

enum class ErrorOrigin {
  kAmt,          // an amt::Error: bad input, named in the message
  kLibTorch,     // c10::Error
  kOpenCv,       // cv::Exception
  kOutOfMemory,  // std::bad_alloc
  kOther,        // any other std::exception
};

struct ExceptionSummary {
  ErrorOrigin origin = ErrorOrigin::kOther;
  std::string type;  // "amt::ShapeError", "c10::Error", "cv::Exception", "std::bad_alloc", "std::exception"
  std::string first_line;  // the message's first line (LibTorch's without its backtrace)
  std::string whole;       // every line of the message (LibTorch's backtrace included)
};

ExceptionSummary summarize_exception(const std::exception& e);

// `s` up to its first newline.
std::string first_line(const std::string& s);

}  // namespace amt
