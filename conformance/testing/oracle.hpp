// Where tests find external reference data (../shared/oracle) and how they behave when it is absent:
// skip with a clear message locally, fail when the CI environment variable is set.
#pragma once
#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace amt::testing {

// The oracle folder: $AMT_ORACLE_DIR if set, else ../shared/oracle beside the source tree.
std::string oracle_dir();
// True when running in CI (the CI environment variable is set and not "0"/"false").
bool in_ci();
// Path of a file in the oracle folder, or nullopt if that file does not exist.
std::optional<std::string> oracle_file(const std::string& name);
// The source tree root (for configs/ and golden/).
std::string source_dir();

}  // namespace amt::testing

// Use at the top of a test that needs an oracle file: binds `var` to its path, or skips (locally) /
// fails (in CI) with a message naming the missing path and the variable that overrides it.
#define AMT_REQUIRE_ORACLE_FILE(var, name)                                                        \
  std::string var;                                                                                \
  do {                                                                                            \
    auto amt_found_ = ::amt::testing::oracle_file(name);                                          \
    if (!amt_found_) {                                                                            \
      const std::string amt_msg_ = "oracle file " + ::amt::testing::oracle_dir() + "/" + (name) + \
                                   " is absent (set AMT_ORACLE_DIR to the folder holding it)";    \
      if (::amt::testing::in_ci()) FAIL() << amt_msg_ << "; CI is set, so this is a failure";     \
      GTEST_SKIP() << amt_msg_;                                                                   \
    }                                                                                             \
    var = *amt_found_;                                                                            \
  } while (0)
