// The numeric_faults property family (conformance/lib/properties_numeric.cpp): NaN/Inf and degenerate
// cameras stopped at the boundary with a typed error naming the field, joints behind the camera trained
// through with finite losses and gradients, zero-area images refused with a typed error.
#include "conformance/suites/suite_util.hpp"

namespace amt::conformance::suites {
namespace {

TEST(NumericFaults, EveryPropertyPasses) {
  expect_family_passes("numeric_faults");
}

}  // namespace
}  // namespace amt::conformance::suites
