// The one place the command-line tools turn exceptions into exit codes and one-line messages:
//   0 ok · 1 a check failed (conformance, verify, replay) · 2 bad input (amt::Error: the message names the
//   file and field) · 3 a LibTorch, OpenCV or memory error (its first line; the backtrace is dropped).
#pragma once
#include <c10/util/Exception.h>

#include <functional>
#include <iostream>
#include <new>
#include <opencv2/core.hpp>
#include <string>

#include "reference/core/error.hpp"

namespace amt::cli {

inline std::string first_line(std::string s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

inline int run_reporting_errors(const std::string& who, const std::function<int()>& body) {
  try {
    return body();
  } catch (const amt::Error& e) {
    std::cerr << who << ": " << first_line(e.what()) << "\n";
    return 2;
  } catch (const c10::Error& e) {
    std::cerr << who << ": LibTorch error: " << first_line(e.what_without_backtrace()) << "\n";
    return 3;
  } catch (const cv::Exception& e) {
    std::cerr << who << ": OpenCV error: " << first_line(e.what()) << "\n";
    return 3;
  } catch (const std::bad_alloc&) {
    std::cerr << who << ": out of memory\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << who << ": unexpected error: " << first_line(e.what()) << "\n";
    return 3;
  }
}

}  // namespace amt::cli
