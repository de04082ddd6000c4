// Facts about the build that reports and manifests record.
#pragma once
#include <torch/version.h>

#include <string>

namespace amt {

// "2.13.0": the LibTorch this binary was compiled against.
inline std::string libtorch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

}  // namespace amt
