#include "reference/vision/collator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "reference/core/error.hpp"
#include "reference/precision/faults.hpp"

namespace amt::vision {
namespace {

const FaultRegistration kFaultPaddedGrid{
    "vision.grid_from_padded_size",
    "seed 004, pitfall 1: each image's grid computed from the padded batch's largest (H, W) instead of the "
    "image's own size, so smaller images get too many tokens"};
const FaultRegistration kFaultDropGrids{"vision.collator_drop_grids",
                                        "seed 004 pitfall 4: the collator zips samples with "
                                        "batch.get('image_grids', []); when the grids are missing "
                                        "the zip is empty and the whole batch is silently dropped"};

std::string who(int64_t id) {
  return "sample " + std::to_string(id);
}

const torch::Tensor& field(const TensorMap& fields, const std::string& name, int64_t id) {
  auto it = fields.find(name);
  if (it == fields.end() || !it->second.defined()) {
    throw ValueError(who(id) + ": per-image field '" + name + "' is missing");
  }
  return it->second;
}

void expect_shape(const torch::Tensor& t, c10::IntArrayRef shape, const std::string& name, int64_t id) {
  if (t.sizes() != shape) {
    throw ShapeError(who(id) + ": field '" + name + "' has shape " + c10::str(t.sizes()) + ", expected " +
                     c10::str(shape));
  }
}

void expect_integer(const torch::Tensor& t, const std::string& name, int64_t id) {
  if (t.is_floating_point() || t.is_complex() || t.scalar_type() == torch::kBool) {
    throw DtypeError(who(id) + ": field '" + name + "' must be an integer tensor, got " +
                     std::string(c10::toString(t.scalar_type())));
  }
}

std::string grid_str(int64_t hp, int64_t wp, int64_t gh, int64_t gw) {
  return "(Hp=" + std::to_string(hp) + ", Wp=" + std::to_string(wp) + ", Gh=" + std::to_string(gh) +
         ", Gw=" + std::to_string(gw) + ")";
}

bool close(double a, double b) {
  return std::abs(a - b) <= 1e-6 * std::max(std::abs(a), std::abs(b));
}

// Unbiased draw in [0, range) (OpenBSD arc4random_uniform's rejection rule).
uint64_t bounded(std::mt19937_64& rng, uint64_t range) {
  const uint64_t min = (0 - range) % range;  // 2^64 mod range
  uint64_t x;
  do {
    x = rng();
  } while (x < min);
  return x % range;
}

}  // namespace

const std::vector<std::string>& required_image_fields() {
  static const std::vector<std::string> names{"image", "grid", "K", "original_size", "scale", "has_hand"};
  return names;
}

void validate_sample(const ImageSample& s) {
  if (!s.image.defined()) throw ValueError(who(s.id) + ": per-image field 'image' is missing");
  if (s.image.dim() != 3) {
    throw ShapeError(who(s.id) + ": field 'image' must be [C, H, W], got " + c10::str(s.image.sizes()));
  }
  const int64_t h = s.image.size(1), w = s.image.size(2);
  const ImageGrid expected = make_image_grid(h, w, s.grid.patch, s.grid.shuffle);
  if (!(s.grid == expected)) {
    throw ShapeError(who(s.id) + ": field 'grid' " + grid_str(s.grid.hp, s.grid.wp, s.grid.gh, s.grid.gw) +
                     " does not match the image " + std::to_string(h) + "x" + std::to_string(w) +
                     ", which gives " + grid_str(expected.hp, expected.wp, expected.gh, expected.gw));
  }
  if (!s.K.defined()) throw ValueError(who(s.id) + ": per-image field 'K' is missing");
  expect_shape(s.K, {3, 3}, "K", s.id);
  if (!s.K.is_floating_point()) {
    throw DtypeError(who(s.id) + ": field 'K' must be floating point, got " +
                     std::string(c10::toString(s.K.scalar_type())));
  }
  if (s.original_size.height < 1 || s.original_size.width < 1) {
    throw ValueError(who(s.id) + ": field 'original_size' must be positive, got " + s.original_size.str());
  }
  const double sy = static_cast<double>(h) / static_cast<double>(s.original_size.height);
  const double sx = static_cast<double>(w) / static_cast<double>(s.original_size.width);
  if (!close(s.scale_y, sy) || !close(s.scale_x, sx)) {
    throw ValueError(who(s.id) + ": field 'scale' (" + std::to_string(s.scale_y) + ", " +
                     std::to_string(s.scale_x) + ") does not match image / original_size (" +
                     std::to_string(sy) + ", " + std::to_string(sx) + ")");
  }
  for (const auto& [name, t] : s.labels) {
    if (!t.defined()) throw ValueError(who(s.id) + ": label '" + name + "' is missing (undefined tensor)");
  }
}

ImageSample sample_from_fields(const TensorMap& fields, int64_t patch, int64_t shuffle, int64_t id) {
  ImageSample s;
  s.id = id;
  for (const auto& name : required_image_fields()) field(fields, name, id);  // every missing one is named

  s.image = field(fields, "image", id);
  if (s.image.dim() != 3)
    throw ShapeError(who(id) + ": field 'image' must be [C, H, W], got " + c10::str(s.image.sizes()));

  const torch::Tensor& grid = field(fields, "grid", id);
  expect_shape(grid, {4}, "grid", id);
  expect_integer(grid, "grid", id);
  const ImageGrid expected = make_image_grid(s.image.size(1), s.image.size(2), patch, shuffle);
  const int64_t hp = grid[0].item<int64_t>(), wp = grid[1].item<int64_t>();
  const int64_t gh = grid[2].item<int64_t>(), gw = grid[3].item<int64_t>();
  if (hp != expected.hp || wp != expected.wp || gh != expected.gh || gw != expected.gw) {
    throw ShapeError(who(id) + ": field 'grid' " + grid_str(hp, wp, gh, gw) + " does not match the image " +
                     std::to_string(s.image.size(1)) + "x" + std::to_string(s.image.size(2)) +
                     ", which gives " + grid_str(expected.hp, expected.wp, expected.gh, expected.gw));
  }
  s.grid = expected;

  s.K = field(fields, "K", id);

  const torch::Tensor& original = field(fields, "original_size", id);
  expect_shape(original, {2}, "original_size", id);
  expect_integer(original, "original_size", id);
  s.original_size = {original[0].item<int64_t>(), original[1].item<int64_t>()};

  const torch::Tensor& scale = field(fields, "scale", id);
  expect_shape(scale, {2}, "scale", id);
  if (!scale.is_floating_point()) throw DtypeError(who(id) + ": field 'scale' must be floating point");
  s.scale_y = scale[0].item<double>();
  s.scale_x = scale[1].item<double>();

  const torch::Tensor& has_hand = field(fields, "has_hand", id);
  if (has_hand.scalar_type() != torch::kBool || has_hand.numel() != 1) {
    throw DtypeError(who(id) + ": field 'has_hand' must be one bool, got " +
                     std::string(c10::toString(has_hand.scalar_type())) + " " + c10::str(has_hand.sizes()));
  }
  s.has_hand = has_hand.item<bool>();

  const auto& required = required_image_fields();
  for (const auto& [name, t] : fields) {
    if (std::find(required.begin(), required.end(), name) == required.end()) s.labels[name] = t;
  }
  validate_sample(s);
  return s;
}

TensorMap sample_to_fields(const ImageSample& s) {
  TensorMap out = s.labels;
  out["image"] = s.image;
  out["grid"] = torch::tensor({s.grid.hp, s.grid.wp, s.grid.gh, s.grid.gw}, torch::kInt64);
  out["K"] = s.K;
  out["original_size"] = torch::tensor({s.original_size.height, s.original_size.width}, torch::kInt64);
  out["scale"] = torch::tensor({s.scale_y, s.scale_x}, torch::kFloat64);
  out["has_hand"] = torch::full({}, s.has_hand, torch::kBool);
  return out;
}

std::vector<ImageSample> samples_from_columns(const Columns& columns, int64_t patch, int64_t shuffle,
                                              int64_t first_id) {
  if (kFaultDropGrids.on()) {
    // Upstream: zip(ids, labels, ..., batch.get("image_grids", [])) — a missing column is an empty list, and
    // zip stops at the shortest list.
    size_t n = std::numeric_limits<size_t>::max();
    for (const auto& name : required_image_fields()) {
      auto it = columns.find(name);
      n = std::min(n, it == columns.end() ? size_t{0} : it->second.size());
    }
    std::vector<ImageSample> out;
    for (size_t i = 0; i < n; ++i) {
      TensorMap row;
      for (const auto& [name, list] : columns) row[name] = list[i];
      out.push_back(sample_from_fields(row, patch, shuffle, first_id + static_cast<int64_t>(i)));
    }
    return out;
  }
  std::string present;
  for (const auto& [name, list] : columns) present += (present.empty() ? "" : ", ") + name;
  for (const auto& name : required_image_fields()) {
    if (columns.find(name) == columns.end()) {
      throw ValueError("collator: per-image field '" + name +
                       "' is missing from the batch (fields present: " + present + ")");
    }
  }
  const size_t n = columns.at("image").size();
  for (const auto& [name, list] : columns) {
    if (list.size() != n) {
      throw ValueError("collator: per-image field '" + name + "' has " + std::to_string(list.size()) +
                       " entries but 'image' has " + std::to_string(n));
    }
  }
  std::vector<ImageSample> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    TensorMap row;
    for (const auto& [name, list] : columns) row[name] = list[i];
    out.push_back(sample_from_fields(row, patch, shuffle, first_id + static_cast<int64_t>(i)));
  }
  return out;
}

Filtered filter_samples(const std::vector<ImageSample>& samples,
                        const std::function<bool(const ImageSample&)>& keep) {
  Filtered out;
  for (const auto& s : samples) {
    if (keep(s)) {
      out.kept.push_back(s);
    } else {
      out.dropped.push_back(s.id);
    }
  }
  return out;
}

Filtered keep_within_token_budget(const std::vector<ImageSample>& samples, int64_t max_tokens) {
  if (max_tokens < 1) throw ConfigError("token budget must be >= 1, got " + std::to_string(max_tokens));
  int64_t used = 0;
  return filter_samples(samples, [&](const ImageSample& s) {
    if (used + s.grid.tokens() > max_tokens) return false;
    used += s.grid.tokens();
    return true;
  });
}

Filtered keep_with_hand(const std::vector<ImageSample>& samples) {
  return filter_samples(samples, [](const ImageSample& s) { return s.has_hand; });
}

std::vector<int64_t> shuffled_order(int64_t n, uint64_t seed) {
  if (n < 0) throw ValueError("shuffled_order: n must be >= 0, got " + std::to_string(n));
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(bounded(rng, static_cast<uint64_t>(i + 1)));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

std::vector<ImageSample> shuffle_samples(const std::vector<ImageSample>& samples, uint64_t seed) {
  std::vector<ImageSample> out;
  out.reserve(samples.size());
  for (int64_t i : shuffled_order(static_cast<int64_t>(samples.size()), seed))
    out.push_back(samples[static_cast<size_t>(i)]);
  return out;
}

std::vector<int64_t> shard_positions(int64_t n, int64_t rank, int64_t world) {
  if (world < 1 || rank < 0 || rank >= world) {
    throw ConfigError("shard: rank " + std::to_string(rank) +
                      " is not in [0, world=" + std::to_string(world) + ")");
  }
  std::vector<int64_t> out;
  for (int64_t i = rank; i < n; i += world) out.push_back(i);
  return out;
}

std::vector<ImageSample> shard_samples(const std::vector<ImageSample>& samples, int64_t rank, int64_t world) {
  std::vector<ImageSample> out;
  for (int64_t p : shard_positions(static_cast<int64_t>(samples.size()), rank, world))
    out.push_back(samples[static_cast<size_t>(p)]);
  return out;
}

int64_t Batch::total_tokens() const {
  int64_t total = 0;
  for (const auto& g : grids) total += g.tokens();
  return total;
}

TensorMap model_inputs(const Batch& batch) {
  if (batch.empty())
    throw ValueError("model_inputs: the batch is empty (the loader skips empty batches, V7)");
  const torch::Tensor& first = batch.images.front();
  for (size_t i = 0; i < batch.images.size(); ++i) {
    if (batch.images[i].sizes() != first.sizes()) {
      throw ShapeError("model_inputs: image " + std::to_string(batch.ids[i]) + " is " +
                       c10::str(batch.images[i].sizes()) + " but image " + std::to_string(batch.ids[0]) +
                       " is " + c10::str(first.sizes()) + "; bucket the batch by size first (V4)");
    }
  }
  TensorMap m = batch.labels;
  m["image"] = torch::stack(batch.images);
  m["K"] = batch.K;
  m["has_hand"] = batch.has_hand;
  m["valid"] = batch.valid;
  m["grid"] = batch.grid;
  return m;
}

Batch collate(const std::vector<ImageSample>& samples) {
  Batch b;
  const auto n = static_cast<int64_t>(samples.size());
  if (n == 0) {
    b.grid = torch::empty({0, 4}, torch::kInt64);
    b.K = torch::empty({0, 3, 3}, torch::kFloat32);
    b.original_size = torch::empty({0, 2}, torch::kInt64);
    b.scale = torch::empty({0, 2}, torch::kFloat64);
    b.has_hand = torch::empty({0}, torch::kBool);
    b.valid = torch::empty({0}, torch::kBool);
    return b;
  }
  std::set<std::string> label_names;
  for (const auto& s : samples) {
    validate_sample(s);
    for (const auto& [name, t] : s.labels) label_names.insert(name);
  }
  const ImageSample& first = samples.front();
  // Fault "vision.grid_from_padded_size": upstream computed every image's grid from the padded batch tensor,
  // i.e. from the largest (H, W) of the batch, not from the image itself (seed 004, pitfall 1).
  const bool padded_grid = kFaultPaddedGrid.on();
  int64_t max_h = 0, max_w = 0;
  for (const auto& s : samples)
    max_h = std::max(max_h, s.image.size(1)), max_w = std::max(max_w, s.image.size(2));
  std::vector<int64_t> grid_values, size_values;
  std::vector<double> scale_values;
  std::vector<torch::Tensor> Ks;
  b.has_hand = torch::empty({n}, torch::kBool);
  b.valid = torch::ones({n}, torch::kBool);
  auto hand = b.has_hand.accessor<bool, 1>();
  for (int64_t i = 0; i < n; ++i) {
    const ImageSample& s = samples[static_cast<size_t>(i)];
    if (s.K.scalar_type() != first.K.scalar_type()) {
      throw DtypeError(who(s.id) + ": field 'K' is " + std::string(c10::toString(s.K.scalar_type())) + ", " +
                       who(first.id) + " has " + std::string(c10::toString(first.K.scalar_type())));
    }
    for (const auto& name : label_names) {
      auto it = s.labels.find(name);
      if (it == s.labels.end()) {
        throw ValueError(who(s.id) + ": label '" + name +
                         "' is missing (other samples in the batch have it)");
      }
    }
    b.ids.push_back(s.id);
    b.images.push_back(s.image);
    ImageGrid g = s.grid;
    if (padded_grid) {
      g.height = max_h, g.width = max_w, g.hp = max_h / g.patch, g.wp = max_w / g.patch;
      g.gh = g.hp / g.shuffle, g.gw = g.wp / g.shuffle;
    }
    b.grids.push_back(g);
    grid_values.insert(grid_values.end(), {g.hp, g.wp, g.gh, g.gw});
    size_values.insert(size_values.end(), {s.original_size.height, s.original_size.width});
    scale_values.insert(scale_values.end(), {s.scale_y, s.scale_x});
    Ks.push_back(s.K);
    hand[i] = s.has_hand;
  }
  b.grid = torch::tensor(grid_values, torch::kInt64).view({n, 4});
  b.original_size = torch::tensor(size_values, torch::kInt64).view({n, 2});
  b.scale = torch::tensor(scale_values, torch::kFloat64).view({n, 2});
  b.K = torch::stack(Ks);
  for (const auto& name : label_names) {
    std::vector<torch::Tensor> parts;
    const torch::Tensor& ref = first.labels.at(name);  // every sample has it (checked above)
    for (const auto& s : samples) {
      const torch::Tensor& t = s.labels.at(name);
      if (t.sizes() != ref.sizes() || t.scalar_type() != ref.scalar_type()) {
        throw ShapeError(who(s.id) + ": label '" + name + "' is " +
                         std::string(c10::toString(t.scalar_type())) + " " + c10::str(t.sizes()) +
                         ", another sample's is " + std::string(c10::toString(ref.scalar_type())) + " " +
                         c10::str(ref.sizes()));
      }
      parts.push_back(t);
    }
    b.labels[name] = torch::stack(parts);
  }
  return b;
}

std::optional<Batch> NonEmptyBatches::next() {
  while (true) {
    std::optional<Batch> batch = source_();
    if (!batch) return std::nullopt;
    if (!batch->empty()) return batch;
    ++skipped_;
  }
}

}  // namespace amt::vision
