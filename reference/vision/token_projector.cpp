#include "reference/vision/token_projector.hpp"

#include <torch/nn/options/linear.h>

#include "reference/core/error.hpp"
#include "reference/vision/pixel_shuffle.hpp"

namespace amt::vision {

TokenProjectorImpl::TokenProjectorImpl(int64_t dim, int64_t shuffle) : dim_(dim), shuffle_(shuffle) {
  if (dim < 1 || shuffle < 1) {
    throw ConfigError("TokenProjector: dim and shuffle must be >= 1, got dim=" + std::to_string(dim) +
                      " shuffle=" + std::to_string(shuffle));
  }
  proj = register_module("proj", torch::nn::Linear(torch::nn::LinearOptions(dim * shuffle * shuffle, dim)));
}

torch::Tensor TokenProjectorImpl::forward(const torch::Tensor& tokens, int64_t hp, int64_t wp) {
  if (tokens.dim() != 3 || tokens.size(2) != dim_) {
    throw ShapeError("TokenProjector: expected tokens [B, Hp*Wp, " + std::to_string(dim_) + "], got " +
                     c10::str(tokens.sizes()));
  }
  return proj->forward(pixel_shuffle_2d(tokens, hp, wp, shuffle_));
}

}  // namespace amt::vision
