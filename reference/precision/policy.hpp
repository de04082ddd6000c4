// PrecisionPolicy (docs/design.md P3): which dtypes parameters, activations, islands and outputs use.
//
//   policy         params  activations  matmul/conv  islands  geometric outputs
//   fp32           fp32    fp32         fp32         fp32     fp32
//   bf16-autocast  fp32    fp32 (*)     bf16         fp32     fp32
//   bf16-pure      bf16    bf16         bf16         fp32     fp32
//   fp64           fp64    fp64         fp64         fp64 (**) fp64
//   fp16-autocast / fp16-pure: CUDA only; refused on CPU (fp16 CPU kernels exist since LibTorch 2.x, but
//   their GEMM is an unvectorised fallback without AVX512-FP16/AMX-FP16, and fp16 training needs loss
//   scaling).
//   bf16 runs on every x86-64 CPU: oneDNN's bf16 kernels on avx512_core and up, converting ones below
//   (LibTorch 1.13 failed there and the policy was refused; docs/conformance.md).
// (*) autocast casts inside listed ops; the residual stream stays fp32.
// (**) except DINOv2 position interpolation, which upstream always does in fp32 (islands.hpp).
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

namespace amt::precision {

enum class PolicyKind { kFp32, kBf16Autocast, kBf16Pure, kFp64, kFp16Autocast, kFp16Pure };

class PrecisionPolicy {
 public:
  // Throws amt::UnsupportedError for fp16 compute on a CPU device (saying why).
  explicit PrecisionPolicy(PolicyKind kind = PolicyKind::kFp32, torch::Device device = torch::kCPU);
  // "fp32", "bf16-autocast", "bf16-pure", "fp64", "fp16-autocast", "fp16-pure"; unknown → amt::ConfigError.
  static PrecisionPolicy parse(const std::string& name, torch::Device device = torch::kCPU);
  // The policies this build can run on `device` (fp16 ones only on CUDA).
  static std::vector<PrecisionPolicy> available(torch::Device device = torch::kCPU);

  PolicyKind kind() const { return kind_; }
  std::string name() const;
  torch::Device device() const { return device_; }

  torch::ScalarType param_dtype() const;       // dtype of model parameters (and master weights for pure)
  torch::ScalarType activation_dtype() const;  // dtype tensors enter the model in (the boundary's target)
  torch::ScalarType compute_dtype() const;     // dtype of matmul/conv results (bf16 under autocast)
  torch::ScalarType island_dtype() const;      // fp32, or fp64 under the fp64 policy
  torch::ScalarType output_dtype() const;      // geometric outputs (P5): fp32, or fp64 under fp64
  bool uses_autocast() const;

  bool operator==(const PrecisionPolicy& other) const {
    return kind_ == other.kind_ && device_ == other.device_;
  }

 private:
  PolicyKind kind_;
  torch::Device device_;
};

std::vector<std::string> policy_names();  // every name parse() accepts, in table order

}  // namespace amt::precision

namespace torch::nn {
class Module;
}

namespace amt::precision {

// Moves a module's parameters and buffers to the policy's device and parameter dtype (model construction and
// weight loading call this; model code never calls .to(dtype) itself).
void apply_param_dtype(torch::nn::Module& module, const PrecisionPolicy& policy);

}  // namespace amt::precision
