#include "reference/train/rotation.hpp"

#include <torch/torch.h>

#include "reference/core/error.hpp"

namespace amt::train {

torch::Tensor rotation_6d_to_matrix(const torch::Tensor& r6) {
  if (r6.dim() < 1 || r6.size(-1) != 6) throw ShapeError("rotation_6d_to_matrix: last dim must be 6");
  namespace F = torch::nn::functional;
  const auto unit = F::NormalizeFuncOptions().dim(-1).eps(1e-8);
  const torch::Tensor a1 = r6.narrow(-1, 0, 3), a2 = r6.narrow(-1, 3, 3);
  const torch::Tensor b1 = F::normalize(a1, unit);
  const torch::Tensor b2 = F::normalize(a2 - (a2 * b1).sum(-1, true) * b1, unit);
  const torch::Tensor b3 = torch::cross(b1, b2, -1);
  return torch::stack({b1, b2, b3}, -1);
}

torch::Tensor matrix_to_rotation_6d(const torch::Tensor& R) {
  if (R.dim() < 2 || R.size(-1) != 3 || R.size(-2) != 3)
    throw ShapeError("matrix_to_rotation_6d: need [...,3,3]");
  return torch::cat({R.select(-1, 0), R.select(-1, 1)}, -1);
}

torch::Tensor geodesic_angle(const torch::Tensor& R1, const torch::Tensor& R2) {
  const torch::Tensor trace = (R1 * R2).sum({-2, -1});  // tr(R1ᵀ R2) without forming the product
  return torch::acos(((trace - 1.0) / 2.0).clamp(-1.0 + 1e-7, 1.0 - 1e-7));
}

}  // namespace amt::train
