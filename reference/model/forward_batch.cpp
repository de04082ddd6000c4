#include "reference/model/forward_batch.hpp"

#include <torch/torch.h>

#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"

namespace amt::model {

TensorMap read_forward_batch(const std::string& path) {
  const io::Safetensors in = io::read_safetensors(path);
  TensorMap batch;
  batch["image"] = in.at("image");
  batch["K"] = in.at("K");
  if (in.has("E")) batch["E"] = in.at("E");
  const torch::Tensor& image = batch["image"];
  if (image.dim() != 4 || image.size(1) != 3) {
    throw FormatError(path, "image", "shape " + c10::str(image.sizes()) + " is not [B,3,H,W]");
  }
  const int64_t B = image.size(0);
  const auto check_camera = [&](const char* name, int64_t n) {
    const torch::Tensor& t = batch.at(name);
    if (t.dim() != 3 || t.size(0) != B || t.size(1) != n || t.size(2) != n) {
      throw FormatError(path, name,
                        "shape " + c10::str(t.sizes()) + " is not [" + std::to_string(B) + "," +
                            std::to_string(n) + "," + std::to_string(n) + "]");
    }
  };
  check_camera("K", 3);
  if (batch.count("E")) check_camera("E", 4);
  for (const auto& name : in.names) {
    if (name != "image" && name != "K" && name != "E") {
      throw FormatError(path, name, "unexpected tensor (a forward batch holds image, K and optionally E)");
    }
  }
  return batch;
}

}  // namespace amt::model
