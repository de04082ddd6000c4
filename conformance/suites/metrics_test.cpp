// The metrics property family (conformance/lib/properties_metrics.cpp): every row passes its quick profile.
// The inverse tests for the faults its rows catch are in faults_test.cpp.
#include "conformance/suites/suite_util.hpp"

namespace amt::conformance::suites {
namespace {

TEST(Metrics, EveryPropertyPasses) {
  expect_family_passes("metrics");
}

}  // namespace
}  // namespace amt::conformance::suites
