// The storage property family (conformance/lib/properties_storage.cpp): every row passes its quick profile.
// The inverse tests for the faults its rows catch are in faults_test.cpp.
#include "conformance/suites/suite_util.hpp"

namespace amt::conformance::suites {
namespace {

TEST(Storage, EveryPropertyPasses) {
  expect_family_passes("storage");
}

}  // namespace
}  // namespace amt::conformance::suites
