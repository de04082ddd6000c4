#include "reference/precision/platform.hpp"

#include <ATen/detail/CUDAHooksInterface.h>

#include <nlohmann/json.hpp>

#include "reference/core/build_info.hpp"
#include "reference/precision/cpu_isa.hpp"

namespace amt::precision {

Platform platform() {
  Platform p;
  p.libtorch = libtorch_version();
  // libtorch_cuda registers these hooks when it is linked (cmake/TorchWheel.cmake, AMT_CUDA); without it the
  // default hooks say "not built". Neither call needs a GPU or a driver.
  const at::CUDAHooksInterface& cuda = at::detail::getCUDAHooks();
  if (cuda.isBuilt()) {
    const long v = cuda.versionCUDART();  // e.g. 13000
    p.cuda = std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
    p.cuda_devices = cuda.getNumGPUs();
  }
  p.cpu = cpu_summary();
  return p;
}

std::string describe(const Platform& p) {
  std::string s = "LibTorch " + p.libtorch;
  if (p.cuda.empty()) {
    s += " (CPU only)";
  } else {
    s += " with CUDA " + p.cuda + " (" +
         (p.cuda_devices == 0 ? std::string("no CUDA device visible")
                              : std::to_string(p.cuda_devices) + " CUDA device(s) visible") +
         ")";
  }
  return s + "; CPU " + p.cpu;
}

nlohmann::json to_json(const Platform& p) {
  return {{"libtorch", p.libtorch},
          {"cuda", p.cuda.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.cuda)},
          {"cuda_devices", p.cuda_devices},
          {"cpu", p.cpu}};
}

}  // namespace amt::precision
