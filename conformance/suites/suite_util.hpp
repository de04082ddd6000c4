// What the parameterised suites share: instance names, and the seed they run the property table and the fault
// catalogue with (fixed so ctest is repeatable; AMT_FUZZ_SEED overrides it).
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace amt::conformance::suites {

// A GoogleTest instance name for a dotted table name: "dtype_mix.boundary" → "dtype_mix_boundary".
inline std::string test_name_of(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  for (char& c : n) {
    if (c == '.') c = '_';
  }
  return n;
}

inline uint64_t suite_seed() {
  const char* s = std::getenv("AMT_FUZZ_SEED");
  return s ? std::strtoull(s, nullptr, 10) : 20261201ULL;
}

}  // namespace amt::conformance::suites
