// The rect_grids property family (conformance/lib/properties*.cpp): every row passes its quick profile, and
// every fault switch a row names makes that row fail.
#include "conformance/suites/suite_util.hpp"

namespace amt::conformance::suites {
namespace {

TEST(RectGrids, EveryPropertyPasses) {
  expect_family_passes("rect_grids");
}

TEST(RectGrids, EveryNamedFaultIsCaught) {
  expect_family_catches_its_faults("rect_grids");
}

}  // namespace
}  // namespace amt::conformance::suites
