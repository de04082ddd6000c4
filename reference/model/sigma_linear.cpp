#include "reference/model/sigma_linear.hpp"

#include <torch/nn/functional/linear.h>

#include "reference/core/error.hpp"

namespace amt::model {

SigmaLinearImpl::SigmaLinearImpl(int64_t in, int64_t out, bool with_bias) : in_(in), out_(out) {
  if (in < 1 || out < 1) {
    throw ConfigError("SigmaLinear: sizes must be positive, got " + std::to_string(in) + "->" +
                      std::to_string(out));
  }
  weight = register_parameter("weight", torch::empty({out, in}));
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));  // nn.Linear's default; heads re-init anyway
  if (with_bias) bias = register_parameter("bias", torch::zeros({out}));
  sigma = register_parameter("sigma", torch::ones({1}));
}

torch::Tensor SigmaLinearImpl::effective_weight() const {
  return sigma * weight / (weight.norm(2, {1}, /*keepdim=*/true) + 1e-8);
}

torch::Tensor SigmaLinearImpl::forward(const torch::Tensor& x) {
  return torch::nn::functional::linear(x, effective_weight(), bias);
}

}  // namespace amt::model
