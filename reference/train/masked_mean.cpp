#include "reference/train/masked_mean.hpp"

#include "reference/core/error.hpp"

namespace amt::train {
namespace {

// The mask expanded to values' shape (a view; no copy).
torch::Tensor expanded_mask(const torch::Tensor& values, const torch::Tensor& mask, const char* who) {
  if (!values.is_floating_point()) {
    throw DtypeError(std::string(who) + ": values must be floating point, got " +
                     std::string(c10::toString(values.scalar_type())));
  }
  if (mask.scalar_type() != torch::kBool) {
    throw DtypeError(std::string(who) + ": mask must be bool, got " +
                     std::string(c10::toString(mask.scalar_type())));
  }
  // Broadcasting must reach exactly values' shape: a mask may never enlarge the reduction.
  bool ok = mask.dim() <= values.dim();
  for (int64_t i = 1; ok && i <= mask.dim(); ++i) {
    const int64_t m = mask.size(-i), v = values.size(-i);
    ok = (m == v || m == 1);
  }
  if (!ok) {
    throw ShapeError(std::string(who) + ": mask " + c10::str(mask.sizes()) +
                     " does not broadcast to values " + c10::str(values.sizes()));
  }
  return mask.expand(values.sizes());
}

}  // namespace

torch::Tensor masked_sum(const torch::Tensor& values, const torch::Tensor& mask) {
  const torch::Tensor m = expanded_mask(values, mask, "masked_sum");
  // where(), not values·mask: 0·NaN would be NaN, and its gradient too.
  return torch::where(m, values, torch::zeros({}, values.options())).sum();
}

torch::Tensor masked_count(const torch::Tensor& values, const torch::Tensor& mask) {
  return expanded_mask(values, mask, "masked_count").sum();  // bool sum → int64
}

torch::Tensor masked_mean(const torch::Tensor& values, const torch::Tensor& mask) {
  const torch::Tensor m = expanded_mask(values, mask, "masked_mean");
  const torch::Tensor total = torch::where(m, values, torch::zeros({}, values.options())).sum();
  // With no valid entry the sum is an exact 0 and the divisor 1, so the result is 0 and its gradient 0.
  const torch::Tensor count = m.sum().clamp_min(1);
  return total / count;  // int64 divisor: the quotient keeps values' floating dtype
}

}  // namespace amt::train
