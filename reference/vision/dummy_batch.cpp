#include "reference/vision/dummy_batch.hpp"

#include "reference/core/error.hpp"
#include "reference/precision/faults.hpp"

namespace amt::vision {
namespace {

const FaultRegistration kFaultDummyGrid{"vision.dummy_grid_1x1",
                                        "seed 004 pitfall 3: the dummy batch uses grid (1, 1), not divisible "
                                        "by the shuffle factor 2, so the dummy step "
                                        "fails in the projector"};

}  // namespace

Batch make_dummy_batch(int64_t patch, int64_t shuffle, const TensorMap& label_template) {
  if (patch < 1 || shuffle < 1) {
    throw ConfigError("make_dummy_batch: patch and shuffle must be >= 1, got patch=" + std::to_string(patch) +
                      " shuffle=" + std::to_string(shuffle));
  }
  ImageGrid grid;
  if (kFaultDummyGrid.on()) {
    // Upstream's numbers, taken as given (no validation, as upstream had none).
    grid = ImageGrid{patch, patch, patch, shuffle, 1, 1, 1, 1};
  } else {
    grid = make_image_grid(patch * shuffle, patch * shuffle, patch, shuffle);
  }
  const int64_t side = grid.height;
  Batch b;
  b.dummy = true;
  b.ids = {-1};
  b.images = {torch::zeros({3, side, side}, torch::kFloat32)};
  b.grids = {grid};
  b.grid = torch::tensor({grid.hp, grid.wp, grid.gh, grid.gw}, torch::kInt64).view({1, 4});
  const double f = static_cast<double>(side), c = (f - 1.0) / 2.0;  // principal point at the image centre
  b.K = torch::tensor({f, 0.0, c, 0.0, f, c, 0.0, 0.0, 1.0}, torch::kFloat32).view({1, 3, 3});
  b.original_size = torch::tensor({side, side}, torch::kInt64).view({1, 2});
  b.scale = torch::ones({1, 2}, torch::kFloat64);
  b.has_hand = torch::zeros({1}, torch::kBool);
  b.valid = torch::zeros({1}, torch::kBool);
  for (const auto& [name, example] : label_template) {
    if (!example.defined()) throw ValueError("make_dummy_batch: label template '" + name + "' is undefined");
    std::vector<int64_t> shape{1};
    for (int64_t d : example.sizes()) shape.push_back(d);
    b.labels[name] = torch::zeros(shape, example.options());
  }
  return b;
}

}  // namespace amt::vision
