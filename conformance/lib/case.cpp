#include "conformance/lib/case.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>

#include "reference/core/error.hpp"
#include "reference/io/json_file.hpp"

namespace amt::conformance {

std::string dtype_short_name(torch::ScalarType dt) {
  switch (dt) {
    case torch::kByte:
      return "u8";
    case torch::kHalf:
      return "f16";
    case torch::kBFloat16:
      return "bf16";
    case torch::kFloat:
      return "f32";
    case torch::kDouble:
      return "f64";
    default:
      throw ConfigError(std::string("no short name for dtype ") + c10::toString(dt));
  }
}

torch::ScalarType parse_dtype_short_name(const std::string& name) {
  for (torch::ScalarType dt : {torch::kByte, torch::kHalf, torch::kBFloat16, torch::kFloat, torch::kDouble}) {
    if (dtype_short_name(dt) == name) return dt;
  }
  throw ConfigError("unknown dtype '" + name + "' (known: u8, f16, bf16, f32, f64)");
}

nlohmann::json case_to_json(const Case& c) {
  return {{"property", c.property},
          {"config", c.config},
          {"backbone", c.backbone},
          {"shuffle", c.shuffle},
          {"policy", c.policy},
          {"image_dtype", dtype_short_name(c.image_dtype)},
          {"k_dtype", dtype_short_name(c.k_dtype)},
          {"with_e", c.with_e},
          {"e_dtype", dtype_short_name(c.e_dtype)},
          {"label_dtype", dtype_short_name(c.label_dtype)},
          {"batch", c.batch},
          {"height", c.height},
          {"width", c.width},
          {"max_side", c.max_side},
          {"allow_upscale", c.allow_upscale},
          {"seed", c.seed}};
}

namespace {
using io::json_field;
torch::ScalarType dtype_field(const nlohmann::json& j, const char* name, const std::string& source) {
  const std::string s = json_field<std::string>(j, name, source);
  try {
    return parse_dtype_short_name(s);
  } catch (const ConfigError& e) {
    throw FormatError(source, name, e.what());
  }
}
}  // namespace

Case case_from_json(const nlohmann::json& j, const std::string& source) {
  Case c;
  c.property = json_field<std::string>(j, "property", source);
  c.config = json_field<std::string>(j, "config", source);
  c.backbone = json_field<std::string>(j, "backbone", source);
  c.shuffle = json_field<int64_t>(j, "shuffle", source);
  c.policy = json_field<std::string>(j, "policy", source);
  c.image_dtype = dtype_field(j, "image_dtype", source);
  c.k_dtype = dtype_field(j, "k_dtype", source);
  c.with_e = json_field<bool>(j, "with_e", source);
  c.e_dtype = dtype_field(j, "e_dtype", source);
  c.label_dtype = dtype_field(j, "label_dtype", source);
  c.batch = json_field<int64_t>(j, "batch", source);
  c.height = json_field<int64_t>(j, "height", source);
  c.width = json_field<int64_t>(j, "width", source);
  c.max_side = json_field<int64_t>(j, "max_side", source);
  c.allow_upscale = json_field<bool>(j, "allow_upscale", source);
  c.seed = json_field<uint64_t>(j, "seed", source);
  if (c.batch < 1 || c.batch > 64) throw FormatError(source, "batch", "must be in 1..64");
  if (c.height < 1 || c.width < 1 || c.height > 4096 || c.width > 4096) {
    throw FormatError(source, "height", "image sides must be in 1..4096");
  }
  if (c.shuffle < 1 || c.shuffle > 8) throw FormatError(source, "shuffle", "must be in 1..8");
  return c;
}

std::string describe(const Case& c) {
  std::string s = c.property + " " + c.config + "/" + c.backbone + " s=" + std::to_string(c.shuffle) + " " +
                  c.policy + " B=" + std::to_string(c.batch) + " " + std::to_string(c.height) + "x" +
                  std::to_string(c.width);
  if (c.max_side > 0) {
    s += " max_side=" + std::to_string(c.max_side) + (c.allow_upscale ? " upscale" : " no-upscale");
  }
  s += " image=" + dtype_short_name(c.image_dtype) + " K=" + dtype_short_name(c.k_dtype) +
       " E=" + (c.with_e ? dtype_short_name(c.e_dtype) : std::string("-")) +
       " labels=" + dtype_short_name(c.label_dtype) + " seed=" + std::to_string(c.seed);
  return s;
}

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << describe(c);
}

namespace {
torch::Tensor pinhole_k(int64_t B, int64_t H, int64_t W) {
  const double f = 1.2 * static_cast<double>(std::max(H, W));
  return torch::tensor({f, 0.0, (W - 1) / 2.0, 0.0, f, (H - 1) / 2.0, 0.0, 0.0, 1.0}, torch::kDouble)
      .view({1, 3, 3})
      .repeat({B, 1, 1});
}
}  // namespace

TensorMap make_case_batch(const Case& c) {
  const int64_t B = c.batch, H = c.height, W = c.width;
  at::Generator gen = at::detail::createCPUGenerator(c.seed);
  TensorMap batch;
  if (c.image_dtype == torch::kByte) {
    batch["image"] = torch::randint(0, 256, {B, 3, H, W}, gen, torch::kLong).to(torch::kByte);
  } else {
    batch["image"] = torch::randn({B, 3, H, W}, gen, torch::kDouble).to(c.image_dtype);
  }
  const torch::Tensor K = pinhole_k(B, H, W);
  batch["K"] = K.to(c.k_dtype);
  if (c.with_e) {
    // A small rigid motion per frame: rotation about z by up to ±3°, translation up to ±2 cm.
    const torch::Tensor angle = (torch::rand({B}, gen, torch::kDouble) - 0.5) * 0.1;
    torch::Tensor e = torch::eye(4, torch::kDouble).repeat({B, 1, 1});
    e.select(1, 0).select(1, 0).copy_(torch::cos(angle));
    e.select(1, 0).select(1, 1).copy_(-torch::sin(angle));
    e.select(1, 1).select(1, 0).copy_(torch::sin(angle));
    e.select(1, 1).select(1, 1).copy_(torch::cos(angle));
    e.narrow(1, 0, 3).select(2, 3).copy_((torch::rand({B, 3}, gen, torch::kDouble) - 0.5) * 0.04);
    batch["E"] = e.to(c.e_dtype);
  }
  torch::Tensor j = torch::randn({B, 21, 3}, gen, torch::kDouble) * 0.05;
  j.select(2, 2).add_(0.6);
  const torch::Tensor uvw = torch::matmul(j, K.transpose(1, 2));
  batch["joint_3d"] = j.to(c.label_dtype);
  batch["joint_2d"] = (uvw.narrow(2, 0, 2) / uvw.narrow(2, 2, 1)).to(c.label_dtype);
  torch::Tensor pose = torch::zeros({B, 3, 4}, torch::kDouble);
  pose.narrow(2, 0, 3).copy_(torch::eye(3, torch::kDouble));
  pose.select(2, 3).copy_(j.mean(1) + 0.03 * torch::randn({B, 3}, gen, torch::kDouble));
  batch["grasped_pose"] = pose.to(c.label_dtype);
  batch["grasped_object_id"] = (torch::arange(B, torch::kLong) + 1) % 3;  // frame 2 has no object
  batch["has_hand"] = torch::arange(B, torch::kLong) % 4 != 3;            // frame 3 has no hand
  return batch;
}

}  // namespace amt::conformance
