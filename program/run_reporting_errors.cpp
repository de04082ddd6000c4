#include "program/run_reporting_errors.hpp"

#include <iostream>
#include <typeinfo>

#include "program/command_line.hpp"
#include "program/exit_codes.hpp"
#include "reference/core/exception_summary.hpp"

namespace amt::program {

std::string describe_current_exception(int& code) {
  code = kExitInternal;
  try {
    throw;
  } catch (const std::exception& e) {
    const ExceptionSummary s = summarize_exception(e);
    const bool verbose = verbose_errors();
    const std::string& shown = verbose ? s.whole : s.first_line;
    switch (s.origin) {
      case ErrorOrigin::kAmt:
        code = kExitBadInput;
        return shown;
      case ErrorOrigin::kLibTorch:
        return "LibTorch error: " + shown;
      case ErrorOrigin::kOpenCv:
        return "OpenCV error: " + shown;
      case ErrorOrigin::kOutOfMemory:
        return "out of memory";
      case ErrorOrigin::kOther:
        break;
    }
    return "unexpected error: " + shown + (verbose ? std::string(" (") + typeid(e).name() + ")" : "");
  } catch (...) {
    return "unexpected error (not a std::exception)";
  }
}

int run_reporting_errors(const std::string& who, const std::function<int()>& body) {
  try {
    return body();
  } catch (...) {
    int code = kExitInternal;
    const std::string what = describe_current_exception(code);
    std::cerr << who << ": " << what << "\n";
    return code;
  }
}

}  // namespace amt::program
