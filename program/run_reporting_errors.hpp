// The one place a program turns an exception into its exit code and a one-line message on stderr:
//   amt::Error → 2 (bad input; the message names the file and field) · c10::Error, cv::Exception,
//   std::bad_alloc, anything else → 3 (its first line; with --verbose the whole message, LibTorch's
//   backtrace included). Codes: program/exit_codes.hpp.
#pragma once
#include <functional>
#include <string>

namespace amt::program {

// What run_reporting_errors prints for the exception being handled (call inside a catch block); the exit
// code goes to `code`.
std::string describe_current_exception(int& code);

// Runs `body` and returns its exit code; an exception escaping it is printed as "<who>: <what>" and mapped
// to its exit code.
int run_reporting_errors(const std::string& who, const std::function<int()>& body);

}  // namespace amt::program
