// What every property suite does with its family's rows of the property table: run each in the quick profile
// (the seed is fixed so ctest is repeatable; AMT_FUZZ_SEED overrides it). The inverse tests, one per fault
// switch, are in faults_test.cpp.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "conformance/lib/fuzz_runner.hpp"

namespace amt::conformance::suites {

inline uint64_t suite_seed() {
  const char* s = std::getenv("AMT_FUZZ_SEED");
  return s ? std::strtoull(s, nullptr, 10) : 20261201ULL;
}

inline void expect_family_passes(const std::string& family) {
  int rows = 0;
  for (const Property& p : property_table()) {
    if (p.family != family) continue;
    ++rows;
    const PropertyReport r = check_property(p, p.quick_cases, suite_seed());
    EXPECT_FALSE(r.failed) << r.message();
    EXPECT_GT(r.cases, 0) << p.name << " ran no case";
  }
  EXPECT_GT(rows, 0) << "no property of family " << family;
}

}  // namespace amt::conformance::suites
