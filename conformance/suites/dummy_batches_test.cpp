// The dummy_batches property family (conformance/lib/properties*.cpp): every row passes its quick profile,
// and every fault switch a row names makes that row fail.
#include "conformance/suites/suite_util.hpp"

namespace amt::conformance::suites {
namespace {

TEST(DummyBatches, EveryPropertyPasses) {
  expect_family_passes("dummy_batches");
}

}  // namespace
}  // namespace amt::conformance::suites
