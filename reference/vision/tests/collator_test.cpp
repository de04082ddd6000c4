// V6: every per-image field travels with its image through filtering, shuffling, sharding and collation; a
// missing field is an error naming it. V7: empty batches are skipped.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <set>

#include "reference/core/error.hpp"
#include "reference/vision/collator.hpp"
#include "reference/vision/dynamic_resize.hpp"

namespace amt::vision {
namespace {

constexpr int64_t kPatch = 4, kShuffle = 2;

// A sample whose every field encodes its id, so alignment can be checked after any reordering.
ImageSample tagged_sample(int64_t id, ImageSize original, bool has_hand) {
  const ImageSize size = dynamic_resize_target(original, kPatch * kShuffle, 64, true);
  ImageSample s;
  s.id = id;
  s.image = torch::full({3, size.height, size.width}, double(id), torch::kFloat32);
  s.grid = make_image_grid(size, kPatch, kShuffle);
  s.K = torch::tensor({100.0 + id, 0.0, 1.0, 0.0, 200.0 + id, 2.0, 0.0, 0.0, 1.0}, torch::kFloat32)
            .view({3, 3});
  s.original_size = original;
  s.scale_y = double(size.height) / double(original.height);
  s.scale_x = double(size.width) / double(original.width);
  s.has_hand = has_hand;
  s.labels["joint_3d"] = torch::full({21, 3}, double(id), torch::kFloat32);
  s.labels["object_id"] = torch::full({}, id, torch::kInt64);
  return s;
}

// "" when row `row` of `b` holds exactly the fields of `s`, else the first field that differs.
std::string row_mismatch(const Batch& b, int64_t row, const ImageSample& s) {
  const auto r = static_cast<size_t>(row);
  if (b.ids[r] != s.id) return "id";
  if (!torch::equal(b.images[r], s.image)) return "image";
  if (!(b.grids[r] == s.grid)) return "grids";
  if (!torch::equal(b.grid[row], torch::tensor({s.grid.hp, s.grid.wp, s.grid.gh, s.grid.gw}, torch::kInt64)))
    return "grid";
  if (!torch::equal(b.K[row], s.K)) return "K";
  if (b.original_size[row][0].item<int64_t>() != s.original_size.height ||
      b.original_size[row][1].item<int64_t>() != s.original_size.width)
    return "original_size";
  if (b.scale[row][0].item<double>() != s.scale_y || b.scale[row][1].item<double>() != s.scale_x)
    return "scale";
  if (b.has_hand[row].item<bool>() != s.has_hand) return "has_hand";
  if (!b.valid[row].item<bool>()) return "valid";
  if (!torch::equal(b.labels.at("joint_3d")[row], s.labels.at("joint_3d"))) return "joint_3d";
  if (b.labels.at("object_id")[row].item<int64_t>() != s.id) return "object_id";
  return "";
}

// Random samples, a random filter pattern (all kept / some dropped / all dropped), a random shuffle and a
// random sharding: each rank's collated batch has every field of every row from the same image, and the ranks
// together hold exactly the kept images.
RC_GTEST_PROP(CollatorProperty, FieldsStayAlignedUnderFilterShuffleShard, ()) {
  const int64_t n = *rc::gen::inRange<int64_t>(0, 13);
  std::vector<ImageSample> samples;
  for (int64_t i = 0; i < n; ++i) {
    const ImageSize original{*rc::gen::inRange<int64_t>(1, 200), *rc::gen::inRange<int64_t>(1, 200)};
    samples.push_back(tagged_sample(100 + i, original, *rc::gen::arbitrary<bool>()));
  }
  const int pattern = *rc::gen::inRange(0, 3);  // 0: keep all, 1: random subset, 2: drop all
  std::set<int64_t> keep_ids;
  for (const auto& s : samples) {
    if (pattern == 0 || (pattern == 1 && *rc::gen::arbitrary<bool>())) keep_ids.insert(s.id);
  }
  const Filtered f = filter_samples(samples, [&](const ImageSample& s) { return keep_ids.count(s.id) > 0; });
  RC_ASSERT(f.kept.size() == keep_ids.size());
  RC_ASSERT(f.kept.size() + f.dropped.size() == samples.size());

  const std::vector<ImageSample> shuffled = shuffle_samples(f.kept, *rc::gen::arbitrary<uint64_t>());
  const int64_t world = *rc::gen::inRange<int64_t>(1, 4);
  std::multiset<int64_t> seen;
  for (int64_t rank = 0; rank < world; ++rank) {
    const Batch b = collate(shard_samples(shuffled, rank, world));
    RC_ASSERT(static_cast<int64_t>(b.images.size()) == b.size());
    RC_ASSERT(b.grid.size(0) == b.size() && b.K.size(0) == b.size() && b.has_hand.size(0) == b.size());
    for (int64_t row = 0; row < b.size(); ++row) {
      const int64_t id = b.ids[static_cast<size_t>(row)];
      seen.insert(id);
      RC_ASSERT(row_mismatch(b, row, samples[static_cast<size_t>(id - 100)]).empty());
    }
    RC_ASSERT(b.total_tokens() == [&] {
      int64_t t = 0;
      for (const auto& g : b.grids) t += g.tokens();
      return t;
    }());
  }
  RC_ASSERT(seen == std::multiset<int64_t>(keep_ids.begin(), keep_ids.end()));
}

RC_GTEST_PROP(CollatorProperty, TokenBudgetAndHandFiltersKeepWholeSamples, ()) {
  const int64_t n = *rc::gen::inRange<int64_t>(0, 10);
  std::vector<ImageSample> samples;
  for (int64_t i = 0; i < n; ++i) {
    samples.push_back(tagged_sample(100 + i,
                                    {*rc::gen::inRange<int64_t>(1, 300), *rc::gen::inRange<int64_t>(1, 300)},
                                    *rc::gen::arbitrary<bool>()));
  }
  const int64_t budget = *rc::gen::inRange<int64_t>(1, 150);
  const Filtered f = keep_within_token_budget(samples, budget);
  int64_t used = 0;
  for (const auto& s : f.kept) used += s.grid.tokens();
  RC_ASSERT(used <= budget);
  const Batch b = collate(f.kept);
  for (int64_t row = 0; row < b.size(); ++row) {
    RC_ASSERT(
        row_mismatch(b, row, samples[static_cast<size_t>(b.ids[static_cast<size_t>(row)] - 100)]).empty());
  }
  const Filtered hands = keep_with_hand(samples);
  for (const auto& s : hands.kept) RC_ASSERT(s.has_hand);
  for (int64_t id : hands.dropped) RC_ASSERT(!samples[static_cast<size_t>(id - 100)].has_hand);
}

TEST(Collator, RowAndColumnFormsRoundTrip) {
  std::vector<ImageSample> samples{tagged_sample(0, {480, 640}, true), tagged_sample(1, {100, 30}, false)};
  Columns columns;
  for (const auto& s : samples) {
    for (const auto& [name, t] : sample_to_fields(s)) columns[name].push_back(t);
  }
  const std::vector<ImageSample> back = samples_from_columns(columns, kPatch, kShuffle);
  ASSERT_EQ(back.size(), 2u);
  const Batch b = collate(back);
  for (int64_t row = 0; row < 2; ++row)
    EXPECT_EQ(row_mismatch(b, row, samples[static_cast<size_t>(row)]), "");
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Collator, MissingFieldIsAnErrorNamingIt) {
  const ImageSample s = tagged_sample(7, {64, 64}, true);
  for (const std::string& name : required_image_fields()) {
    SCOPED_TRACE(name);
    TensorMap fields = sample_to_fields(s);
    fields.erase(name);
    const std::string m = error_of([&] { sample_from_fields(fields, kPatch, kShuffle, 7); });
    EXPECT_NE(m.find("'" + name + "'"), std::string::npos) << m;
    EXPECT_NE(m.find("sample 7"), std::string::npos) << m;

    Columns columns;
    for (const auto& [n, t] : fields) columns[n].push_back(t);
    const std::string mc = error_of([&] { samples_from_columns(columns, kPatch, kShuffle); });
    EXPECT_NE(mc.find("'" + name + "'"), std::string::npos) << mc;
  }
}

TEST(Collator, InconsistentFieldsAreErrors) {
  ImageSample s = tagged_sample(3, {64, 48}, true);
  ImageSample wrong_grid = s;
  wrong_grid.grid = make_image_grid(64, 64, kPatch, kShuffle);
  EXPECT_NE(error_of([&] { collate({wrong_grid}); }).find("'grid'"), std::string::npos);
  ImageSample wrong_scale = s;
  wrong_scale.scale_x *= 1.01;
  EXPECT_NE(error_of([&] { collate({wrong_scale}); }).find("'scale'"), std::string::npos);
  ImageSample no_k = s;
  no_k.K = torch::Tensor();
  EXPECT_NE(error_of([&] { collate({no_k}); }).find("'K'"), std::string::npos);
  ImageSample no_label = tagged_sample(4, {64, 48}, true);
  no_label.labels.erase("joint_3d");
  const std::string m = error_of([&] { collate({s, no_label}); });
  EXPECT_NE(m.find("'joint_3d'"), std::string::npos) << m;
  EXPECT_NE(m.find("sample 4"), std::string::npos) << m;
  ImageSample k64 = tagged_sample(5, {64, 48}, true);
  k64.K = torch::eye(3, torch::kFloat64);
  EXPECT_THROW(collate({s, k64}), DtypeError);
  Columns ragged;
  for (const auto& [name, t] : sample_to_fields(s)) ragged[name] = {t, t};
  ragged["K"].pop_back();
  EXPECT_NE(error_of([&] { samples_from_columns(ragged, kPatch, kShuffle); }).find("'K'"), std::string::npos);
}

TEST(Collator, EmptyInputGivesAnEmptyBatchAndTheLoaderSkipsIt) {
  const Batch empty = collate({});
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.grid.sizes(), (c10::IntArrayRef{0, 4}));
  EXPECT_EQ(empty.K.sizes(), (c10::IntArrayRef{0, 3, 3}));
  EXPECT_FALSE(empty.dummy);

  // A source yielding: empty, full, empty, empty, full, end.
  std::vector<Batch> queue{empty, collate({tagged_sample(1, {32, 32}, true)}), empty, empty,
                           collate({tagged_sample(2, {32, 32}, false)})};
  size_t next = 0;
  NonEmptyBatches loader([&]() -> std::optional<Batch> {
    if (next == queue.size()) return std::nullopt;
    return queue[next++];
  });
  std::vector<int64_t> got;
  while (auto b = loader.next()) {
    EXPECT_FALSE(b->empty());
    got.push_back(b->ids.at(0));
  }
  EXPECT_EQ(got, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(loader.skipped(), 3);
}

TEST(Shuffle, DeterministicPermutation) {
  const auto a = shuffled_order(50, 42), b = shuffled_order(50, 42), c = shuffled_order(50, 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
  EXPECT_TRUE(shuffled_order(0, 1).empty());
  // Every position is reachable: over many seeds, element 0 visits all 5 slots.
  std::set<int64_t> where;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    const auto p = shuffled_order(5, seed);
    where.insert(std::find(p.begin(), p.end(), 0) - p.begin());
  }
  EXPECT_EQ(where.size(), 5u);
}

TEST(Shard, StridedAndValidated) {
  std::vector<ImageSample> samples;
  for (int64_t i = 0; i < 5; ++i) samples.push_back(tagged_sample(i, {32, 32}, true));
  const auto r1 = shard_samples(samples, 1, 2);
  ASSERT_EQ(r1.size(), 2u);
  EXPECT_EQ(r1[0].id, 1);
  EXPECT_EQ(r1[1].id, 3);
  EXPECT_THROW(shard_samples(samples, 2, 2), ConfigError);
  EXPECT_THROW(shard_samples(samples, 0, 0), ConfigError);
  EXPECT_THROW(keep_within_token_budget(samples, 0), ConfigError);
}

}  // namespace
}  // namespace amt::vision
