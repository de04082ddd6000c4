// Rotation helpers shared by losses, metrics and the model's outputs.
#pragma once
#include <torch/types.h>

namespace amt::train {

// 6-D rotation representation (Zhou et al. 2019) → rotation matrix by Gram–Schmidt:
// b1 = n(a1), b2 = n(a2 − (a2·b1) b1), b3 = b1 × b2, R = [b1 b2 b3] as columns. r6 [...,6] → [...,3,3].
torch::Tensor rotation_6d_to_matrix(const torch::Tensor& r6);

// The 6-D representation of a rotation matrix: its first two columns, [...,3,3] → [...,6].
torch::Tensor matrix_to_rotation_6d(const torch::Tensor& R);

// Geodesic angle (radians) between rotation matrices [...,3,3] → [...]: acos((tr(R1ᵀ R2) − 1)/2), with the
// cosine clamped to [−1+1e-7, 1−1e-7] so the gradient stays finite at 0 and π.
torch::Tensor geodesic_angle(const torch::Tensor& R1, const torch::Tensor& R2);

}  // namespace amt::train
