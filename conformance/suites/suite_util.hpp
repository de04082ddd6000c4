// What every property suite does with its family's rows of the property table: run each in the quick profile
// (the seed is fixed so ctest is repeatable; AMT_FUZZ_SEED overrides it), and for every fault switch a row
// says it catches, check that the row fails with the fault on (the inverse test).
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "conformance/lib/fuzz_runner.hpp"
#include "reference/precision/faults.hpp"

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

inline void expect_family_catches_its_faults(const std::string& family) {
  for (const Property& p : property_table()) {
    if (p.family != family) continue;
    for (const std::string& fault : p.catches) {
      ScopedFault on(fault);
      const PropertyReport r = check_property(p, std::max(p.quick_cases, 20), suite_seed());
      EXPECT_TRUE(r.failed) << p.name << " did not catch fault " << fault << " in " << r.cases << " cases";
    }
  }
}

}  // namespace amt::conformance::suites
