// The loader: sharding covers each sample exactly once, batches never mix sizes, epochs are deterministic,
// the prefetch thread is bounded, empty batches are skipped and fetch errors reach the caller.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <vector>

#include "reference/core/error.hpp"
#include "reference/data/cached_dataset.hpp"
#include "reference/data/loader.hpp"
#include "reference/data/tests/test_dataset.hpp"

namespace amt::data {
namespace {

std::vector<vision::ImageSize> random_sizes(int64_t n, int buckets, uint64_t seed) {
  const std::vector<vision::ImageSize> kinds = {{224, 224}, {168, 224}, {224, 168}, {112, 224}};
  std::vector<vision::ImageSize> sizes;
  uint64_t x = seed;
  for (int64_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    sizes.push_back(kinds[(x >> 33) % static_cast<uint64_t>(buckets)]);
  }
  return sizes;
}

RC_GTEST_PROP(LoaderProperty, ShardsCoverEverySampleExactlyOncePerEpoch,
              (uint64_t seed, uint64_t size_seed, bool shuffle, bool bucket)) {
  const auto n = *rc::gen::inRange<int64_t>(0, 80);
  const auto buckets = bucket ? *rc::gen::inRange(1, 5) : 1;
  const auto sizes = random_sizes(n, buckets, size_seed);
  LoaderOptions o;
  o.batch_size = *rc::gen::inRange<int64_t>(1, 9);
  o.world_size = *rc::gen::inRange<int64_t>(1, 5);
  o.shuffle = shuffle;
  o.seed = seed;
  o.bucket_by_size = bucket;
  const auto epoch = *rc::gen::inRange<int64_t>(0, 1000);
  std::vector<int> seen(static_cast<size_t>(n), 0);
  int64_t most = 0;
  for (int64_t r = 0; r < o.world_size; ++r) {
    o.rank = r;
    const auto plan = plan_epoch(sizes, o, epoch);
    most = std::max<int64_t>(most, static_cast<int64_t>(plan.size()));
    for (const auto& batch : plan) {
      RC_ASSERT(!batch.empty());
      RC_ASSERT(static_cast<int64_t>(batch.size()) <= o.batch_size);
      for (int64_t i : batch) {
        ++seen[static_cast<size_t>(i)];
        RC_ASSERT(sizes[static_cast<size_t>(i)] ==
                  sizes[static_cast<size_t>(batch[0])]);  // one size per batch
      }
    }
  }
  for (int c : seen) RC_ASSERT(c == 1);
  RC_ASSERT(max_batches_over_ranks(sizes, o, epoch) == most);
}

RC_GTEST_PROP(LoaderProperty, DropLastKeepsOnlyFullBatchesAndDropsLittle,
              (uint64_t seed, uint64_t size_seed)) {
  const auto n = *rc::gen::inRange<int64_t>(0, 80);
  const int buckets = *rc::gen::inRange(1, 5);
  const auto sizes = random_sizes(n, buckets, size_seed);
  LoaderOptions o;
  o.batch_size = *rc::gen::inRange<int64_t>(1, 9);
  o.world_size = *rc::gen::inRange<int64_t>(1, 5);
  o.seed = seed;
  o.drop_last = true;
  int64_t kept = 0;
  std::set<int64_t> unique;
  for (int64_t r = 0; r < o.world_size; ++r) {
    o.rank = r;
    for (const auto& batch : plan_epoch(sizes, o, 3)) {
      RC_ASSERT(static_cast<int64_t>(batch.size()) == o.batch_size);
      kept += static_cast<int64_t>(batch.size());
      unique.insert(batch.begin(), batch.end());
    }
  }
  RC_ASSERT(static_cast<int64_t>(unique.size()) == kept);
  // At most one short tail per bucket per rank is dropped.
  RC_ASSERT(n - kept <= o.world_size * buckets * (o.batch_size - 1));
}

TEST(Loader, EpochsAreDeterministicAndDiffer) {
  const auto sizes = random_sizes(50, 2, 7);
  LoaderOptions o;
  o.batch_size = 4;
  o.seed = 11;
  EXPECT_EQ(plan_epoch(sizes, o, 0), plan_epoch(sizes, o, 0));
  EXPECT_NE(plan_epoch(sizes, o, 0), plan_epoch(sizes, o, 1));
  LoaderOptions other = o;
  other.seed = 12;
  EXPECT_NE(plan_epoch(sizes, o, 0), plan_epoch(sizes, other, 0));
  // Without shuffling: dataset order, cut per bucket.
  o.shuffle = false;
  o.bucket_by_size = false;
  const auto same = random_sizes(10, 1, 0);
  EXPECT_EQ(plan_epoch(same, o, 5), (std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
  o.world_size = 2;
  o.rank = 1;
  EXPECT_EQ(plan_epoch(same, o, 5), (std::vector<std::vector<int64_t>>{{1, 3, 5, 7}, {9}}));
}

TEST(Loader, BadOptionsAreConfigErrors) {
  LoaderOptions o;
  o.batch_size = 0;
  EXPECT_THROW(plan_epoch({}, o, 0), ConfigError);
  o = {};
  o.rank = 2;
  o.world_size = 2;
  EXPECT_THROW(plan_epoch({}, o, 0), ConfigError);
  o = {};
  o.prefetch = -1;
  EXPECT_THROW(Loader([](const std::vector<int64_t>&) { return Batch{}; }, {}, o), ConfigError);
}

// A batch whose ids are the planned indices (no images: the loader never looks inside).
Batch fake_batch(const std::vector<int64_t>& idx) {
  Batch b;
  b.ids = idx;
  return b;
}

TEST(Loader, PrefetchYieldsThePlanInOrderAndStaysBounded) {
  for (int64_t prefetch : {0, 1, 3}) {
    std::atomic<int64_t> fetched{0};
    std::atomic<int64_t> consumed{0};
    std::atomic<int64_t> max_ahead{0};
    LoaderOptions o;
    o.batch_size = 3;
    o.prefetch = prefetch;
    Loader loader(
        [&](const std::vector<int64_t>& idx) {
          const int64_t ahead = ++fetched - consumed;
          int64_t m = max_ahead;
          while (ahead > m && !max_ahead.compare_exchange_weak(m, ahead)) {
          }
          return fake_batch(idx);
        },
        random_sizes(40, 3, 1), o);
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      loader.start_epoch(epoch);
      std::vector<std::vector<int64_t>> got;
      while (auto b = loader.next()) {
        ++consumed;
        got.push_back(b->ids);
      }
      EXPECT_EQ(got, loader.plan()) << "prefetch " << prefetch;
      EXPECT_FALSE(loader.next().has_value());
    }
    // Synchronous: one at a time. Prefetching: `prefetch` queued, one more fetched by the worker while it
    // waits for room, and one popped by the consumer but not yet counted here.
    EXPECT_LE(max_ahead.load(), prefetch == 0 ? 1 : prefetch + 2) << "prefetch " << prefetch;
  }
}

TEST(Loader, SkipsEmptyBatchesAndRethrowsFetchErrors) {
  LoaderOptions o;
  o.batch_size = 2;
  o.shuffle = false;
  for (int64_t prefetch : {0, 2}) {
    o.prefetch = prefetch;
    // Every second batch filters all of its samples away.
    int64_t calls = 0;
    Loader filtering(
        [&](const std::vector<int64_t>& idx) { return ++calls % 2 == 0 ? fake_batch({}) : fake_batch(idx); },
        random_sizes(20, 1, 0), o);
    filtering.start_epoch(0);
    int64_t yielded = 0;
    while (filtering.next()) ++yielded;
    EXPECT_EQ(yielded, 5);
    EXPECT_EQ(filtering.skipped_empty(), 5);

    int64_t n = 0;
    Loader failing(
        [&](const std::vector<int64_t>& idx) {
          if (++n == 3) throw ShapeError("fetch failed on purpose");
          return fake_batch(idx);
        },
        random_sizes(20, 1, 0), o);
    failing.start_epoch(0);
    EXPECT_TRUE(failing.next().has_value());
    EXPECT_TRUE(failing.next().has_value());
    EXPECT_THROW(failing.next(), ShapeError);
  }
}

TEST(Loader, AbandoningAnEpochDoesNotHang) {
  LoaderOptions o;
  o.batch_size = 1;
  o.prefetch = 2;
  auto loader = std::make_unique<Loader>(fake_batch, random_sizes(100, 1, 0), o);
  loader->start_epoch(0);
  ASSERT_TRUE(loader->next().has_value());
  loader->start_epoch(1);  // the worker of epoch 0 is blocked on a full queue
  ASSERT_TRUE(loader->next().has_value());
  loader.reset();  // and so is this one
}

TEST(Loader, OverACachedDatasetWithMixedSizes) {
  // Two caches of the same samples at different sizes would be two datasets; here one dataset holds one size,
  // so check the plan's batches gather and carry their indices.
  const auto& d = testing::small_dataset();
  const DexYCBReader reader(d.root, DSetup::kS0, Split::kTest);
  CacheOptions co;
  co.resize = ResizeSpec{14, 112, true};
  const CachedDataset cache = CachedDataset::build(reader, co);
  LoaderOptions o;
  o.batch_size = 5;
  o.world_size = 2;
  std::multiset<int64_t> seen;
  for (int64_t rank = 0; rank < 2; ++rank) {
    o.rank = rank;
    Loader loader(cache, o, 14, 1);
    loader.start_epoch(4);
    while (auto b = loader.next()) {
      // Through the collator: every per-image field travels with its image (V6).
      const TensorMap inputs = vision::model_inputs(*b);
      EXPECT_EQ(inputs.at("image").scalar_type(), torch::kUInt8);
      EXPECT_EQ(inputs.at("image").size(2), 84);
      EXPECT_EQ(b->grids.front().hp, 6);
      for (size_t k = 0; k < b->ids.size(); ++k) {
        const int64_t i = b->ids[k];
        seen.insert(i);
        EXPECT_TRUE(
            torch::equal(inputs.at("joint_3d")[static_cast<int64_t>(k)], cache.fields().at("joint_3d")[i]));
        EXPECT_TRUE(torch::equal(b->K[static_cast<int64_t>(k)], cache.fields().at("K")[i]));
      }
    }
  }
  EXPECT_EQ(static_cast<int64_t>(seen.size()), cache.size());
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), seen.size());
}

TEST(Loader, StartingMidEpochContinuesThePlanExactly) {
  // A resumed run starts at the checkpoint's plan position: the batches it sees are the tail of the plan,
  // nothing before them is fetched, and position() counts what was handed out (empty batches included).
  for (int64_t prefetch : {0, 2}) {
    LoaderOptions o;
    o.batch_size = 3;
    o.prefetch = prefetch;
    std::vector<std::vector<int64_t>> fetched;
    std::mutex m;
    Loader loader(
        [&](const std::vector<int64_t>& idx) {
          std::lock_guard<std::mutex> lock(m);
          fetched.push_back(idx);
          return fake_batch(idx);
        },
        random_sizes(30, 2, 7), o);
    loader.start_epoch(3, 4);
    std::vector<std::vector<int64_t>> got;
    while (auto b = loader.next()) got.push_back(b->ids);
    const auto& plan = loader.plan();
    ASSERT_GT(plan.size(), 4u);
    EXPECT_EQ(got, std::vector<std::vector<int64_t>>(plan.begin() + 4, plan.end()));
    EXPECT_EQ(fetched, got);
    EXPECT_EQ(loader.position(), static_cast<int64_t>(plan.size()));
    EXPECT_THROW(loader.start_epoch(3, static_cast<int64_t>(plan.size()) + 1), ValueError);
  }
}

}  // namespace
}  // namespace amt::data
