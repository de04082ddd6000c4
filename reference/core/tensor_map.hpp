// The one name for a set of named tensors: a batch, the model's outputs, a checkpoint's state, a
// safetensors file's content.
#pragma once
#include <torch/types.h>

#include <map>
#include <string>

namespace amt {

using TensorMap = std::map<std::string, torch::Tensor>;

}  // namespace amt
