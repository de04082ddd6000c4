// The work behind `amt_conformance embed`: run a backbone checkpoint on a case file's pixel_values and write
// the features after the final norm. Its tests (tests/embed_test.cpp) drive
// run_embed directly.
#pragma once
#include <cstdint>
#include <string>

#include "reference/model/vit_config.hpp"

namespace amt::cli {

struct EmbedRequest {
  model::BackboneKind kind = model::BackboneKind::kDinov2;
  std::string weights;      // HF safetensors checkpoint
  std::string input;        // safetensors holding pixel_values [B,3,H,W], any float dtype
  std::string output;       // written: cls [B,D], patch [B,N,D], registers [B,R,D] when R > 0
  std::string config_path;  // optional explicit config (weights_loader.hpp: resolve_config)
  model::PosInterp interp = model::PosInterp::kHf;  // DINOv2 only
  std::string dtype = "fp32";                       // a precision policy name
};

struct EmbedSummary {
  int64_t batch = 0, height = 0, width = 0, grid_h = 0, grid_w = 0, registers = 0, dim = 0;
};

// Outputs are fp32 (fp64 under --dtype fp64), i.e. precision::to_output of the features. Every error is an
// amt::Error whose one-line message names the file concerned (input, weights, config or output).
EmbedSummary run_embed(const EmbedRequest& request);

}  // namespace amt::cli
