#include "reference/precision/policy.hpp"

#include <torch/nn/module.h>

#include "reference/core/error.hpp"
#include "reference/precision/cpu_isa.hpp"

namespace amt::precision {

namespace {
struct PolicyRow {
  PolicyKind kind;
  const char* name;
};
constexpr PolicyRow kPolicies[] = {
    {PolicyKind::kFp32, "fp32"},
    {PolicyKind::kBf16Autocast, "bf16-autocast"},
    {PolicyKind::kBf16Pure, "bf16-pure"},
    {PolicyKind::kFp64, "fp64"},
    {PolicyKind::kFp16Autocast, "fp16-autocast"},
    {PolicyKind::kFp16Pure, "fp16-pure"},
};

bool is_fp16(PolicyKind kind) {
  return kind == PolicyKind::kFp16Autocast || kind == PolicyKind::kFp16Pure;
}

bool is_bf16(PolicyKind kind) {
  return kind == PolicyKind::kBf16Autocast || kind == PolicyKind::kBf16Pure;
}
}  // namespace

std::string bf16_cpu_refusal(const CpuInfo& cpu) {
  // LibTorch 1.13 hands a bf16 matmul or conv to oneDNN whenever the CPU itself has avx512bw/vl/dq (ATen's
  // mkldnn_bf16_device_check reads the CPU, not oneDNN's cap). Capped below avx512_core, oneDNN then has no
  // bf16 kernel and every matmul fails with "could not create a primitive descriptor iterator". A CPU without
  // AVX512 never goes there: ATen's own bf16 GEMM (fp32 accumulation) runs, slowly, and is allowed.
  if (cpu.hardware >= CpuIsa::kAvx512Core && cpu.dispatched < CpuIsa::kAvx512Core) {
    return "its bf16 matmul/conv kernels, which LibTorch 1.13 takes from oneDNN on this CPU (" + cpu.model +
           ", " + isa_name(cpu.hardware) +
           "), need avx512_core (avx512f, avx512bw, avx512vl, avx512dq), and " + cpu.cap +
           " caps oneDNN at " + isa_name(cpu.dispatched) +
           ". Unset the cap (or set it to AVX512_CORE or above), or use fp32";
  }
  return "";
}

PrecisionPolicy::PrecisionPolicy(PolicyKind kind, torch::Device device) : kind_(kind), device_(device) {
  if (is_fp16(kind) && !device.is_cuda()) {
    throw UnsupportedError("precision policy '" + name() + "' needs fp16 compute kernels, which LibTorch " +
                           "1.13 lacks on " + device.str() +
                           ": matmul/linear (addmm_impl_cpu_), conv2d, layer_norm (LayerNormKernelImpl), "
                           "softmax, gelu and interpolate are not implemented for Half on the CPU, and CPU "
                           "autocast supports only BFloat16. Use bf16-autocast or bf16-pure on the CPU; fp16 "
                           "is accepted as an input or storage dtype.");
  }
  if (is_bf16(kind) && device.is_cpu()) {
    const std::string why = bf16_cpu_refusal(cpu_info());
    if (!why.empty()) throw UnsupportedError("precision policy '" + name() + "' is refused: " + why);
  }
}

PrecisionPolicy PrecisionPolicy::parse(const std::string& name, torch::Device device) {
  for (const auto& row : kPolicies) {
    if (name == row.name) return PrecisionPolicy(row.kind, device);
  }
  std::string known;
  for (const auto& row : kPolicies) known += std::string(known.empty() ? "" : ", ") + row.name;
  throw ConfigError("unknown precision policy '" + name + "' (known: " + known + ")");
}

std::vector<PrecisionPolicy> PrecisionPolicy::available(torch::Device device) {
  std::vector<PrecisionPolicy> out;
  for (const auto& row : kPolicies) {
    if (is_fp16(row.kind) && !device.is_cuda()) continue;
    if (is_bf16(row.kind) && device.is_cpu() && !bf16_cpu_refusal(cpu_info()).empty()) continue;
    out.emplace_back(row.kind, device);
  }
  return out;
}

std::string PrecisionPolicy::name() const {
  for (const auto& row : kPolicies) {
    if (row.kind == kind_) return row.name;
  }
  return "?";
}

torch::ScalarType PrecisionPolicy::param_dtype() const {
  switch (kind_) {
    case PolicyKind::kBf16Pure:
      return torch::kBFloat16;
    case PolicyKind::kFp16Pure:
      return torch::kHalf;
    case PolicyKind::kFp64:
      return torch::kDouble;
    default:
      return torch::kFloat;
  }
}

torch::ScalarType PrecisionPolicy::activation_dtype() const {
  return param_dtype();
}

torch::ScalarType PrecisionPolicy::compute_dtype() const {
  switch (kind_) {
    case PolicyKind::kBf16Autocast:
    case PolicyKind::kBf16Pure:
      return torch::kBFloat16;
    case PolicyKind::kFp16Autocast:
    case PolicyKind::kFp16Pure:
      return torch::kHalf;
    case PolicyKind::kFp64:
      return torch::kDouble;
    default:
      return torch::kFloat;
  }
}

torch::ScalarType PrecisionPolicy::island_dtype() const {
  return kind_ == PolicyKind::kFp64 ? torch::kDouble : torch::kFloat;
}

torch::ScalarType PrecisionPolicy::output_dtype() const {
  return island_dtype();
}

bool PrecisionPolicy::uses_autocast() const {
  return kind_ == PolicyKind::kBf16Autocast || kind_ == PolicyKind::kFp16Autocast;
}

std::vector<std::string> policy_names() {
  std::vector<std::string> out;
  for (const auto& row : kPolicies) out.push_back(row.name);
  return out;
}

void apply_param_dtype(torch::nn::Module& module, const PrecisionPolicy& policy) {
  module.to(policy.device(), policy.param_dtype());
}

}  // namespace amt::precision
