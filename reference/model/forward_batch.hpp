// A forward batch file, as `amt_conformance forward` and `amt_conformance probe` read it: safetensors with
// image [B,3,H,W] (u8 or float), K [B,3,3], optional E [B,4,4] and nothing else.
#pragma once
#include <string>

#include "reference/core/tensor_map.hpp"

namespace amt::model {

// The batch, checked: amt::FormatError naming the file and the tensor for a wrong shape or an extra tensor.
TensorMap read_forward_batch(const std::string& path);

}  // namespace amt::model
