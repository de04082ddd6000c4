// The optional token projector (docs/design.md §2): pixel_shuffle_2d with factor s on the (Hp, Wp) patch
// grid, then Linear(D·s² → D). It hands the object decoder s² times fewer memory tokens.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "reference/vision/image_grid.hpp"

namespace amt::vision {

class TokenProjectorImpl : public torch::nn::Module {
 public:
  TokenProjectorImpl(int64_t dim, int64_t shuffle);  // amt::ConfigError for dim < 1 or shuffle < 1

  // tokens [B, Hp·Wp, D] (one grid for the whole batch: a bucket of equal-size images) → [B, Gh·Gw, D].
  torch::Tensor forward(const torch::Tensor& tokens, int64_t hp, int64_t wp);
  torch::Tensor forward(const torch::Tensor& tokens, const ImageGrid& grid) {
    return forward(tokens, grid.hp, grid.wp);
  }

  int64_t dim() const { return dim_; }
  int64_t shuffle() const { return shuffle_; }
  torch::nn::Linear proj{nullptr};

 private:
  int64_t dim_;
  int64_t shuffle_;
};
TORCH_MODULE(TokenProjector);

}  // namespace amt::vision
