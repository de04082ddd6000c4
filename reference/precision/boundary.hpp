// P1, the one boundary: every batch enters the model through conform_batch(), which converts each field to
// what the active PrecisionPolicy expects. Below it no module casts except inside a named island.
//
//   role     accepted input dtypes                     becomes
//   image    uint8 (0..255), fp16, bf16, fp32, fp64    activation dtype; uint8 is scaled to [0,1] and
//                                                      ImageNet-normalised, floats are taken as normalised
//   camera   any float (K [B,3,3], E [B,4,4])          island dtype (fp32, fp64 under fp64); never lower
//   label    any float                                 island dtype (losses are islands)
//   keep     bool / integer (masks, ids, grids)        unchanged
// Everything is moved to the policy's device. Non-finite images, cameras or labels and degenerate cameras
// (fx, fy ≤ 0, K[2] ≠ (0,0,1)) throw amt::ValueError naming the field; a float in a "keep" field or an
// integer in a float role throws amt::DtypeError naming the field.
#pragma once
#include <torch/types.h>

#include <map>
#include <string>

#include "reference/core/tensor_map.hpp"
#include "reference/precision/policy.hpp"

namespace amt::precision {

enum class FieldRole { kImage, kCamera, kLabel, kKeep };

// The role of a batch field by its name. Known names: image; K, E (and camera_intrinsics,
// camera_extrinsics); every other floating field is a label; bool/integer fields are kept.
FieldRole field_role(const std::string& name, const torch::Tensor& value);

// ImageNet mean/std used to normalise uint8 images.
constexpr double kImageNetMean[3] = {0.485, 0.456, 0.406};
constexpr double kImageNetStd[3] = {0.229, 0.224, 0.225};

// The boundary. Returns a new map; the input is not modified.
TensorMap conform_batch(const TensorMap& batch, const PrecisionPolicy& policy);

// The single-field rules conform_batch applies (named so the fault catalogue can switch each one).
torch::Tensor conform_image(const torch::Tensor& image, const PrecisionPolicy& policy,
                            const std::string& field = "image");
torch::Tensor conform_camera(const torch::Tensor& camera, const PrecisionPolicy& policy,
                             const std::string& field);
torch::Tensor conform_label(const torch::Tensor& label, const PrecisionPolicy& policy,
                            const std::string& field);

}  // namespace amt::precision
