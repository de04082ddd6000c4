#include "reference/precision/boundary.hpp"

#include "reference/core/error.hpp"
#include "reference/precision/faults.hpp"
#include "reference/precision/islands.hpp"

namespace amt::precision {

namespace {
const FaultRegistration kImageFault{
    "boundary.image_dtype",
    "seeds 000/001: cached bf16 (or any non-policy dtype) images reach the backbone unconverted"};
const FaultRegistration kCameraFault{
    "boundary.camera_dtype",
    "seed 002 / hazard 2: K and E keep whatever dtype the dataset gave them (fp32 against bf16 points, or "
    "bf16-rounded intrinsics)"};
const FaultRegistration kLabelFault{
    "boundary.label_dtype",
    "hazard 1/3: ground truth keeps its storage dtype (bf16 joints quantised to ~2-8 mm)"};

std::string shape_str(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "," : "") + std::to_string(t.size(i));
  return s + "]";
}

void require_floating(const torch::Tensor& t, const std::string& field, const char* role) {
  if (!t.is_floating_point()) {
    throw DtypeError("batch field '" + field + "' is a " + role + " and must be a floating dtype, got " +
                     std::string(c10::toString(t.scalar_type())));
  }
}

void require_finite(const torch::Tensor& t, const std::string& field) {
  if (t.numel() == 0) return;
  const torch::Tensor bad = torch::logical_not(torch::isfinite(t));
  if (bad.any().item<bool>()) {
    const int64_t count = bad.sum().item<int64_t>();
    throw ValueError("batch field '" + field + "' " + shape_str(t) + " holds " + std::to_string(count) +
                     " non-finite value(s) (NaN or Inf)");
  }
}

// K must be a pinhole matrix: positive focal lengths and a bottom row of (0, 0, 1).
void require_pinhole(const torch::Tensor& K, const std::string& field) {
  const torch::Tensor k = K.reshape({-1, 3, 3}).to(torch::kDouble).cpu();
  auto a = k.accessor<double, 3>();
  for (int64_t b = 0; b < k.size(0); ++b) {
    const bool focal_ok = a[b][0][0] > 0.0 && a[b][1][1] > 0.0;
    const bool row_ok =
        std::abs(a[b][2][0]) < 1e-6 && std::abs(a[b][2][1]) < 1e-6 && std::abs(a[b][2][2] - 1.0) < 1e-6;
    if (!focal_ok || !row_ok) {
      throw ValueError("batch field '" + field + "' item " + std::to_string(b) +
                       " is a degenerate camera: fx=" + std::to_string(a[b][0][0]) +
                       " fy=" + std::to_string(a[b][1][1]) + " bottom row (" + std::to_string(a[b][2][0]) +
                       ", " + std::to_string(a[b][2][1]) + ", " + std::to_string(a[b][2][2]) +
                       "); need fx, fy > 0 and (0, 0, 1)");
    }
  }
}
}  // namespace

FieldRole field_role(const std::string& name, const torch::Tensor& value) {
  if (name == "image") return FieldRole::kImage;
  if (name == "K" || name == "E" || name == "camera_intrinsics" || name == "camera_extrinsics") {
    return FieldRole::kCamera;
  }
  return value.is_floating_point() ? FieldRole::kLabel : FieldRole::kKeep;
}

torch::Tensor conform_image(const torch::Tensor& image, const PrecisionPolicy& policy,
                            const std::string& field) {
  if (image.dim() < 3 || image.size(-3) != 3) {
    throw ShapeError("batch field '" + field + "' must be [B,3,H,W] or [3,H,W], got " + shape_str(image));
  }
  torch::Tensor x = image.to(policy.device());
  if (x.scalar_type() == torch::kByte) {
    // uint8 pixels are 0..255: scale and ImageNet-normalise in the island dtype, then enter the network.
    const auto dt = policy.island_dtype();
    const auto opts = torch::TensorOptions().dtype(dt).device(policy.device());
    const torch::Tensor mean =
        torch::tensor({kImageNetMean[0], kImageNetMean[1], kImageNetMean[2]}, opts).view({3, 1, 1});
    const torch::Tensor std =
        torch::tensor({kImageNetStd[0], kImageNetStd[1], kImageNetStd[2]}, opts).view({3, 1, 1});
    return to_activation((x.to(dt) / 255.0 - mean) / std, policy);
  }
  require_floating(x, field, "image");
  require_finite(x, field);
  if (kImageFault.on()) return x;
  return to_activation(x, policy);
}

torch::Tensor conform_camera(const torch::Tensor& camera, const PrecisionPolicy& policy,
                             const std::string& field) {
  require_floating(camera, field, "camera matrix");
  const bool is_k = camera.dim() >= 2 && camera.size(-1) == 3 && camera.size(-2) == 3;
  const bool is_e = camera.dim() >= 2 && camera.size(-1) == 4 && camera.size(-2) == 4;
  if (!is_k && !is_e) {
    throw ShapeError("batch field '" + field + "' must be [...,3,3] (K) or [...,4,4] (E), got " +
                     shape_str(camera));
  }
  require_finite(camera, field);
  if (is_k) require_pinhole(camera, field);
  torch::Tensor x = camera.to(policy.device());
  if (kCameraFault.on()) return x;
  return to_island(x, Island::kCameraProjection, policy);
}

torch::Tensor conform_label(const torch::Tensor& label, const PrecisionPolicy& policy,
                            const std::string& field) {
  require_floating(label, field, "label");
  require_finite(label, field);
  torch::Tensor x = label.to(policy.device());
  if (kLabelFault.on()) return x;
  return to_island(x, Island::kLoss, policy);
}

TensorMap conform_batch(const TensorMap& batch, const PrecisionPolicy& policy) {
  TensorMap out;
  for (const auto& [name, value] : batch) {
    if (!value.defined()) throw ValueError("batch field '" + name + "' is an undefined tensor");
    switch (field_role(name, value)) {
      case FieldRole::kImage:
        out[name] = conform_image(value, policy, name);
        break;
      case FieldRole::kCamera:
        out[name] = conform_camera(value, policy, name);
        break;
      case FieldRole::kLabel:
        out[name] = conform_label(value, policy, name);
        break;
      case FieldRole::kKeep:
        out[name] = value.to(policy.device());
        break;
    }
  }
  return out;
}

}  // namespace amt::precision
