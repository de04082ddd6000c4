// The one place the command-line tools turn exceptions into exit codes and one-line messages:
//   0 ok · 1 a check failed (conformance, verify, replay) · 2 bad input: a bad command line, or an amt::Error
//   (the message names the file and field; LimitError when a size exceeds a ceiling,
//   reference/core/limits.hpp) · 3 a LibTorch, OpenCV or memory error (its first line; with --verbose the
//   whole message, LibTorch's backtrace included).
// Tools with their own codes (amt_ref_train: 4 gate refused, 128+signal) document them in their main().
#pragma once
#include <c10/util/Exception.h>
#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <new>
#include <opencv2/core.hpp>
#include <string>
#include <typeinfo>

#include "reference/core/error.hpp"
#include "reference/precision/platform.hpp"

namespace amt::cli {

constexpr int kExitOk = 0;
constexpr int kExitCheckFailed = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitInternal = 3;

inline std::string first_line(std::string s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// Set by --verbose: errors are printed whole (every line, LibTorch's backtrace) instead of their first line.
inline bool& verbose_errors() {
  static bool verbose = false;
  return verbose;
}

// Adds --verbose to `app` (call it for the app and for each subcommand, so it may come anywhere).
inline CLI::Option* add_verbose_flag(CLI::App& app) {
  return app.add_flag(
      "--verbose", verbose_errors(),
      "on an error, print the whole message (LibTorch's backtrace, OpenCV's context) instead of "
      "its first line");
}

// Adds --version to `app`: the tool's name, then the LibTorch it links (CUDA build or not, devices visible)
// and the CPU with the ISA oneDNN dispatches (reference/precision/platform.hpp). Exit code 0.
inline void add_version_flag(CLI::App& app, const std::string& tool) {
  app.set_version_flag(
      "--version", [tool] { return tool + " (AMT-Ref): " + precision::describe(precision::platform()); },
      "print the LibTorch, CUDA and CPU this tool runs on, and exit");
}

// Parses the command line. Returns -1 to go on; otherwise the exit code: 0 after --help (printed to stdout),
// kExitBadInput for a bad command line (one line "<who>: <what CLI11 says> (see --help)" on stderr).
inline int parse_command_line(CLI::App& app, int argc, const char* const* argv, const std::string& who) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << who << ": " << first_line(e.what()) << " (see --help)\n";
    return kExitBadInput;
  }
  return -1;
}

// What run_reporting_errors prints for the exception being handled (call inside a catch block); the exit
// code goes to `code`.
inline std::string describe_current_exception(int& code) {
  const bool verbose = verbose_errors();
  const auto shown = [&](const std::string& s) { return verbose ? s : first_line(s); };
  try {
    throw;
  } catch (const amt::Error& e) {
    code = kExitBadInput;
    return shown(e.what());
  } catch (const c10::Error& e) {
    code = kExitInternal;
    return "LibTorch error: " + (verbose ? std::string(e.what()) : first_line(e.what_without_backtrace()));
  } catch (const cv::Exception& e) {
    code = kExitInternal;
    return "OpenCV error: " + shown(e.what());
  } catch (const std::bad_alloc&) {
    code = kExitInternal;
    return "out of memory";
  } catch (const std::exception& e) {
    code = kExitInternal;
    return "unexpected error: " + shown(e.what()) +
           (verbose ? std::string(" (") + typeid(e).name() + ")" : "");
  } catch (...) {
    code = kExitInternal;
    return "unexpected error (not a std::exception)";
  }
}

inline int run_reporting_errors(const std::string& who, const std::function<int()>& body) {
  try {
    return body();
  } catch (...) {
    int code = kExitInternal;
    const std::string what = describe_current_exception(code);
    std::cerr << who << ": " << what << "\n";
    return code;
  }
}

}  // namespace amt::cli
