// The work behind `amt_conformance forward`: run the AMT model on a batch file and write every named output
// in the dtype docs/precision.md promises (P5). Its tests
// (tests/forward_test.cpp) drive run_forward directly.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

namespace amt::cli {

struct ForwardRequest {
  std::string config = "tiny";  // a config name (configs/NAME.yaml) or a YAML path
  std::string weights;          // full-model safetensors; empty → deterministic random init from `seed`
  uint64_t seed = 0;
  std::string input;            // safetensors: image [B,3,H,W] (u8 or float), K [B,3,3], optional E [B,4,4]
  std::string policy = "fp32";  // a precision policy name
  std::vector<std::string> keep_fp32;  // module paths kept in fp32 (precision/plan.hpp)
  std::string output;                  // safetensors with every output of AmtModel::forward
};

struct ForwardSummary {
  int64_t batch = 0, height = 0, width = 0, grid_h = 0, grid_w = 0, outputs = 0;
};

// Every failure is an amt::Error with a one-line message naming the file (and tensor) concerned.
ForwardSummary run_forward(const ForwardRequest& request);

}  // namespace amt::cli
