// The dtype_mix property family (conformance/lib/properties*.cpp): every row passes its quick profile, and
// every fault switch a row names makes that row fail.
#include "conformance/suites/suite_util.hpp"

namespace amt::conformance::suites {
namespace {

TEST(DtypeMix, EveryPropertyPasses) {
  expect_family_passes("dtype_mix");
}

TEST(DtypeMix, EveryNamedFaultIsCaught) {
  expect_family_catches_its_faults("dtype_mix");
}

}  // namespace
}  // namespace amt::conformance::suites
