// V7: the dummy batch, for the one case where a step must happen without data (distributed ranks in lock-step
// when a rank's batch was filtered to nothing). Single-process loaders skip empty batches instead
// (NonEmptyBatches); never train on a dummy.
//
// The dummy has one (patch·s)×(patch·s) image of zeros (the mean colour after normalisation), so its grid is
// Hp = Wp = s → Gh = Gw = 1: divisible by s and accepted by every shape check; a valid camera; has_hand =
// false and valid = false; every label zero (bool masks false). Losses reduce with a validity mask
// (train/masked_mean), so the dummy contributes exactly zero loss and zero gradient while the
// forward/backward still runs.
#pragma once
#include "reference/vision/collator.hpp"

namespace amt::vision {

// `label_template`: one example per-image label tensor per name (its shape and dtype); the dummy gets zeros
// of that shape and dtype with a leading batch dim of 1. amt::ConfigError for patch < 1 or shuffle < 1. Fault
// "vision.dummy_grid_1x1": upstream's first dummy — a patch×patch image with grid (1, 1), which the shuffle
// rejects whenever s > 1 (seed 004, pitfall 3).
Batch make_dummy_batch(int64_t patch, int64_t shuffle, const TensorMap& label_template = {});

}  // namespace amt::vision
