// σ-reparametrised Linear, as upstream's SigmaReparam actually computes it (docs/upstream.md A1.2):
// row-wise weight normalisation with one learnable scalar gain, y = x·(σ·W/‖W_row‖)ᵀ + b, σ initialised to 1.
// (Upstream's docstring calls it spectral normalisation; the code is not, and has no KL term.)
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace amt::model {

class SigmaLinearImpl : public torch::nn::Module {
 public:
  SigmaLinearImpl(int64_t in, int64_t out, bool bias = true);
  // No dtype handling: under autocast F::linear runs in bf16, under bf16-pure the parameters are bf16.
  torch::Tensor forward(const torch::Tensor& x);
  // σ·W/(‖W_row‖₂ + 1e-8), the matrix forward multiplies by.
  torch::Tensor effective_weight() const;
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }

  torch::Tensor weight, bias, sigma;

 private:
  int64_t in_, out_;
};
TORCH_MODULE(SigmaLinear);

}  // namespace amt::model
