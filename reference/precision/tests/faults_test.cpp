#include "reference/precision/faults.hpp"

#include <gtest/gtest.h>

#include "reference/core/error.hpp"

namespace amt {
namespace {

TEST(Faults, CatalogueListsThePrecisionFaultsAndTheyStartOff) {
  std::vector<std::string> names;
  for (const auto& f : fault_catalogue()) {
    names.push_back(f.name);
    EXPECT_FALSE(fault_enabled(f.name)) << f.name;
    EXPECT_FALSE(f.description.empty()) << f.name;
  }
  for (const char* expected : {"boundary.image_dtype", "boundary.camera_dtype", "island.projection_no_cast",
                               "island.grid_sample_feature_dtype"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
}

TEST(Faults, ScopedFaultRestoresAndUnknownNamesAreErrors) {
  {
    ScopedFault f("boundary.image_dtype");
    EXPECT_TRUE(fault_enabled("boundary.image_dtype"));
  }
  EXPECT_FALSE(fault_enabled("boundary.image_dtype"));
  EXPECT_THROW(fault_enabled("no.such.fault"), ConfigError);
}

}  // namespace
}  // namespace amt
