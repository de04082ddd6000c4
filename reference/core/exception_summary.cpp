#include "reference/core/exception_summary.hpp"

#include <c10/util/Exception.h>

#include <new>
#include <opencv2/core.hpp>

#include "reference/core/error.hpp"

namespace amt {

std::string first_line(const std::string& s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

namespace {

// The most derived amt::Error type, by name ("amt::Error" for the base or an unnamed subclass).
std::string amt_error_type(const Error& e) {
  if (dynamic_cast<const DtypeError*>(&e)) return "amt::DtypeError";
  if (dynamic_cast<const ShapeError*>(&e)) return "amt::ShapeError";
  if (dynamic_cast<const ValueError*>(&e)) return "amt::ValueError";
  if (dynamic_cast<const ConfigError*>(&e)) return "amt::ConfigError";
  if (dynamic_cast<const UnsupportedError*>(&e)) return "amt::UnsupportedError";
  if (dynamic_cast<const FormatError*>(&e)) return "amt::FormatError";
  return "amt::Error";
}

}  // namespace

ExceptionSummary summarize_exception(const std::exception& e) {
  ExceptionSummary s;
  s.whole = e.what();
  s.first_line = first_line(s.whole);
  if (const auto* amt_error = dynamic_cast<const Error*>(&e)) {
    s.origin = ErrorOrigin::kAmt;
    s.type = amt_error_type(*amt_error);
  } else if (const auto* torch_error = dynamic_cast<const c10::Error*>(&e)) {
    s.origin = ErrorOrigin::kLibTorch;
    s.type = "c10::Error";
    s.first_line = first_line(torch_error->what_without_backtrace());  // what() also carries the backtrace
  } else if (dynamic_cast<const cv::Exception*>(&e)) {
    s.origin = ErrorOrigin::kOpenCv;
    s.type = "cv::Exception";
  } else if (dynamic_cast<const std::bad_alloc*>(&e)) {
    s.origin = ErrorOrigin::kOutOfMemory;
    s.type = "std::bad_alloc";
  } else {
    s.type = "std::exception";
  }
  return s;
}

}  // namespace amt
