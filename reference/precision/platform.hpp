// What this binary computes on: the LibTorch it links, whether that LibTorch has CUDA and sees a device, and
// the CPU (model and the ISA oneDNN dispatches). Every tool prints it with --version; run.json, the golden
// manifest and the conformance reports record it, because every measured number depends on it.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace amt::precision {

struct Platform {
  std::string libtorch;  // "2.13.0": the LibTorch headers this binary was compiled against
  std::string cuda;      // CUDA runtime version LibTorch was built with ("13.0"), "" without libtorch_cuda
  int cuda_devices = 0;  // CUDA devices visible now (0 without a GPU or a driver)
  std::string cpu;       // cpu_summary(): "AMD EPYC; avx512_core_bf16"
};

Platform platform();

// "LibTorch 2.13.0 with CUDA 13.0 (no CUDA device visible); CPU AMD EPYC; avx512_core_bf16".
std::string describe(const Platform& p);

// {"libtorch": ..., "cuda": ... or null, "cuda_devices": N, "cpu": ...}
nlohmann::json to_json(const Platform& p);

}  // namespace amt::precision
