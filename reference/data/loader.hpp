// The training loader: which samples form which batch on which rank, and a bounded prefetch thread.
//
// One epoch on one rank (plan_epoch, a pure function of sizes, options and the epoch):
//   1. order   = 0..N−1, or when shuffling a permutation drawn from (seed, epoch) — identical on every rank;
//   2. shard   = vision::shard_positions of that order (every sample on exactly one rank, no padding,
//                so ranks differ by at most one sample);
//   3. buckets = vision::bucket_by_size over the shard, keeping order (V4: a batch never mixes sizes);
//   4. batches = each bucket cut into batch_size pieces; with drop_last the short tail of each bucket is
//                dropped;
//   5. when shuffling, the batch order is permuted too (seed, epoch), so sizes interleave.
// Without drop_last the union over ranks of all batches is every sample exactly once. Ranks may end up with
// different batch counts (buckets round separately); max_batches_over_ranks tells a lock-step trainer how
// many dummy steps (vision/dummy_batch.hpp) a short rank must add.
//
// The Loader fetches each planned batch (CachedDataset::batch — samples through the vision collator — or any
// FetchFn) on a background thread that stays at most `prefetch` batches ahead, and skips batches that come
// back empty (a fetch may filter samples; vision::NonEmptyBatches). Fetch errors are re-thrown by next() on
// the caller's thread. Batches are vision::Batch, the one batch type of loader, collator, model and trainer.
#pragma once
#include <torch/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "reference/vision/collator.hpp"
#include "reference/vision/image_size.hpp"

namespace amt::data {

class CachedDataset;
using vision::Batch;

struct LoaderOptions {
  int64_t batch_size = 8;
  bool shuffle = true;
  uint64_t seed = 0;
  bool drop_last = false;
  int64_t rank = 0;
  int64_t world_size = 1;
  bool bucket_by_size = true;  // false: one bucket (every image must then have the same size)
  int64_t prefetch = 2;  // batches fetched ahead on the background thread; 0 = fetch on the caller's thread
  // A hand-crop cache's boxes are jittered by (seed, epoch, sample) (training); false: the ground-truth box.
  bool crop_jitter = false;
};

// amt::ConfigError for batch_size < 1, world_size < 1, rank outside [0, world_size), prefetch < 0.
void check_loader_options(const LoaderOptions& options);

// The batches (dataset indices) of one epoch on options.rank. `sizes` holds every sample's image size.
std::vector<std::vector<int64_t>> plan_epoch(const std::vector<vision::ImageSize>& sizes,
                                             const LoaderOptions& options, int64_t epoch);

// The largest batch count of any rank for this epoch.
int64_t max_batches_over_ranks(const std::vector<vision::ImageSize>& sizes, const LoaderOptions& options,
                               int64_t epoch);

using FetchFn = std::function<Batch(const std::vector<int64_t>& indices)>;

class Loader {
 public:
  Loader(FetchFn fetch, std::vector<vision::ImageSize> sizes, LoaderOptions options);
  // Batches from a cache (which must outlive the loader); grids for this patch size and shuffle factor; the
  // final crops of a hand-crop cache (jittered with options.crop_jitter).
  Loader(const CachedDataset& dataset, LoaderOptions options, int64_t patch, int64_t shuffle);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Plans `epoch` and starts fetching at plan entry `first_batch` (a resumed run continues mid-epoch without
  // fetching what it already trained on); an epoch in progress is abandoned.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // Plan entries handed out or skipped so far in this epoch (the data-order state a checkpoint stores).
  int64_t position() const { return consumed_; }
  // The next non-empty batch, or nullopt at the end of the epoch. Re-throws a fetch error once.
  std::optional<Batch> next();

  const std::vector<std::vector<int64_t>>& plan() const { return plan_; }
  int64_t skipped_empty() const { return skipped_empty_; }
  const LoaderOptions& options() const { return options_; }

 private:
  struct Item {
    Batch batch;
  };
  void stop_worker();
  void run_worker();

  FetchFn fetch_;
  std::vector<vision::ImageSize> sizes_;
  LoaderOptions options_;
  std::vector<std::vector<int64_t>> plan_;
  size_t position_ = 0;  // next plan entry to fetch (synchronous mode)
  int64_t epoch_ = 0;
  int64_t first_batch_ = 0;
  int64_t consumed_ = 0;  // plan entries taken by next(), empty ones included
  int64_t skipped_empty_ = 0;
  std::optional<Batch> fetch_next();

  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Item> queue_;
  bool stop_ = false;
  bool done_ = true;
  std::exception_ptr error_;
};

}  // namespace amt::data
