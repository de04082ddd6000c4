// The batch_invariance property family (conformance/lib/properties*.cpp): every row passes its quick profile,
// and every fault switch a row names makes that row fail.
#include "conformance/suites/suite_util.hpp"

namespace amt::conformance::suites {
namespace {

TEST(BatchInvariance, EveryPropertyPasses) {
  expect_family_passes("batch_invariance");
}

}  // namespace
}  // namespace amt::conformance::suites
