// The rect_grids property family (conformance/lib/properties*.cpp): every row passes its quick profile.
// The inverse tests for the faults its rows catch are in faults_test.cpp.
#include "conformance/suites/suite_util.hpp"

namespace amt::conformance::suites {
namespace {

TEST(RectGrids, EveryPropertyPasses) {
  expect_family_passes("rect_grids");
}

}  // namespace
}  // namespace amt::conformance::suites
