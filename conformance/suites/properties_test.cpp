// Every row of the property table (conformance/lib/properties*.cpp: the dtype_mix, rect_grids,
// batch_invariance, dummy_batches, metrics, storage, golden and numeric_faults families) passes its quick
// profile: one parameterised test, one instance per row, named after it. The seed is fixed so ctest is
// repeatable; AMT_FUZZ_SEED overrides it. The inverse tests, one per fault switch, are in faults_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conformance/lib/fuzz_runner.hpp"
#include "conformance/suites/suite_util.hpp"

namespace amt::conformance::suites {
namespace {

class Properties : public ::testing::TestWithParam<std::string> {};

TEST_P(Properties, PassQuickProfile) {
  const Property& p = find_property(GetParam());
  const PropertyReport r = check_property(p, p.quick_cases, suite_seed());
  EXPECT_FALSE(r.failed) << r.message();
  EXPECT_GT(r.cases, 0) << p.name << " ran no case";
}

std::vector<std::string> property_names() {
  std::vector<std::string> names;
  for (const Property& p : property_table()) names.push_back(p.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Table, Properties, ::testing::ValuesIn(property_names()), test_name_of);

}  // namespace
}  // namespace amt::conformance::suites
