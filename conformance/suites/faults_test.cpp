// The inverse tests (label `faults`), one per fault switch of the catalogue: with the switch on, the property
// that claims it fails for the reason it names; with it off, the same property, seed and cases pass. A switch
// no property catches — or one whose property stops failing, or fails for another reason — is a red test.
#include <gtest/gtest.h>

#include "conformance/lib/fault_runner.hpp"
#include "conformance/suites/suite_util.hpp"
#include "reference/precision/faults.hpp"

namespace amt::conformance::suites {
namespace {

class FaultCatalogue : public ::testing::TestWithParam<std::string> {};

TEST_P(FaultCatalogue, CaughtByItsPropertyForItsReason) {
  const FaultResult r = check_fault(GetParam(), suite_seed());
  EXPECT_TRUE(r.caught) << fault_line(r);
  EXPECT_TRUE(r.passes_without_it) << fault_line(r);
}

std::vector<std::string> fault_names() {
  std::vector<std::string> names;
  for (const FaultInfo& f : fault_catalogue()) names.push_back(f.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(All, FaultCatalogue, ::testing::ValuesIn(fault_names()), test_name_of);

}  // namespace
}  // namespace amt::conformance::suites
