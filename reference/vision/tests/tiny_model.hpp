// Test helper: the smallest model that exercises the real pipeline end to end — patch embedding per bucket
// (encode_bucketed), TokenProjector on each image's own grid, mean pooling, a Linear head predicting 21×3
// joints — and a hand loss built on train::masked_mean with the (valid & has_hand) mask.
#pragma once
#include <torch/torch.h>

#include "reference/train/masked_mean.hpp"
#include "reference/vision/batching.hpp"
#include "reference/vision/collator.hpp"
#include "reference/vision/token_projector.hpp"

namespace amt::vision::testing {

struct TinyModelImpl : torch::nn::Module {
  int64_t patch;
  torch::nn::Conv2d embed{nullptr};
  TokenProjector projector{nullptr};
  torch::nn::Linear head{nullptr};

  TinyModelImpl(int64_t patch_, int64_t shuffle, int64_t dim) : patch(patch_) {
    embed =
        register_module("embed", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, dim, patch).stride(patch)));
    projector = register_module("projector", TokenProjector(dim, shuffle));
    head = register_module("head", torch::nn::Linear(dim, 63));
  }

  // → [N, 63]
  torch::Tensor forward(const Batch& b) {
    const auto patch_tokens = encode_bucketed(
        b.images, [&](const torch::Tensor& x) { return embed->forward(x).flatten(2).transpose(1, 2); },
        patch);
    std::vector<torch::Tensor> pooled;
    for (size_t i = 0; i < patch_tokens.size(); ++i) {
      pooled.push_back(projector->forward(patch_tokens[i].unsqueeze(0), b.grids[i]).mean(1));
    }
    return head->forward(torch::cat(pooled, 0));
  }
};
TORCH_MODULE(TinyModel);

inline torch::Tensor hand_loss(const Batch& b, const torch::Tensor& pred) {
  const torch::Tensor target = b.labels.at("joint_3d").view({b.size(), 63});
  const torch::Tensor mask = torch::logical_and(b.valid, b.has_hand).view({b.size(), 1});
  return train::masked_mean((pred - target).abs(), mask);
}

}  // namespace amt::vision::testing
