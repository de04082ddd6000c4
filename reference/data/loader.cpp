#include "reference/data/loader.hpp"

#include <utility>

#include "reference/core/error.hpp"
#include "reference/data/cached_dataset.hpp"
#include "reference/vision/batching.hpp"
#include "reference/vision/collator.hpp"

namespace amt::data {
namespace {

// One seed per (seed, epoch, purpose), well mixed so that consecutive epochs give unrelated permutations.
uint64_t mix(uint64_t seed, int64_t epoch, uint64_t purpose) {
  uint64_t z =
      seed ^ (static_cast<uint64_t>(epoch) * 0x9E3779B97F4A7C15ULL) ^ (purpose * 0xD1B54A32D192ED03ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::vector<std::vector<int64_t>> plan_for_rank(const std::vector<vision::ImageSize>& sizes,
                                                const LoaderOptions& o, int64_t epoch, int64_t rank) {
  const auto n = static_cast<int64_t>(sizes.size());
  std::vector<int64_t> order;
  if (o.shuffle) {
    order = vision::shuffled_order(n, mix(o.seed, epoch, 1));
  } else {
    for (int64_t i = 0; i < n; ++i) order.push_back(i);
  }
  std::vector<int64_t> shard;
  for (int64_t p : vision::shard_positions(n, rank, o.world_size))
    shard.push_back(order[static_cast<size_t>(p)]);
  std::vector<std::vector<int64_t>> buckets;
  if (o.bucket_by_size) {
    std::vector<vision::ImageSize> shard_sizes;
    for (int64_t idx : shard) shard_sizes.push_back(sizes[static_cast<size_t>(idx)]);
    for (const auto& bucket : vision::bucket_by_size(shard_sizes)) {
      buckets.emplace_back();
      for (int64_t pos : bucket.indices) buckets.back().push_back(shard[static_cast<size_t>(pos)]);
    }
  } else if (!shard.empty()) {
    buckets.push_back(shard);
  }
  std::vector<std::vector<int64_t>> batches;
  for (const auto& bucket : buckets) {
    for (size_t start = 0; start < bucket.size(); start += static_cast<size_t>(o.batch_size)) {
      const size_t end = std::min(bucket.size(), start + static_cast<size_t>(o.batch_size));
      if (o.drop_last && end - start < static_cast<size_t>(o.batch_size)) break;
      batches.emplace_back(bucket.begin() + static_cast<std::ptrdiff_t>(start),
                           bucket.begin() + static_cast<std::ptrdiff_t>(end));
    }
  }
  if (o.shuffle && batches.size() > 1) {
    const auto perm = vision::shuffled_order(static_cast<int64_t>(batches.size()), mix(o.seed, epoch, 2));
    std::vector<std::vector<int64_t>> shuffled;
    for (int64_t i : perm) shuffled.push_back(std::move(batches[static_cast<size_t>(i)]));
    batches = std::move(shuffled);
  }
  return batches;
}

}  // namespace

void check_loader_options(const LoaderOptions& o) {
  if (o.batch_size < 1)
    throw ConfigError("loader: batch_size must be >= 1, got " + std::to_string(o.batch_size));
  if (o.world_size < 1)
    throw ConfigError("loader: world_size must be >= 1, got " + std::to_string(o.world_size));
  if (o.rank < 0 || o.rank >= o.world_size) {
    throw ConfigError("loader: rank " + std::to_string(o.rank) + " is not in [0, " +
                      std::to_string(o.world_size) + ")");
  }
  if (o.prefetch < 0) throw ConfigError("loader: prefetch must be >= 0");
}

std::vector<std::vector<int64_t>> plan_epoch(const std::vector<vision::ImageSize>& sizes,
                                             const LoaderOptions& o, int64_t epoch) {
  check_loader_options(o);
  return plan_for_rank(sizes, o, epoch, o.rank);
}

int64_t max_batches_over_ranks(const std::vector<vision::ImageSize>& sizes, const LoaderOptions& o,
                               int64_t epoch) {
  check_loader_options(o);
  int64_t most = 0;
  for (int64_t r = 0; r < o.world_size; ++r) {
    most = std::max<int64_t>(most, static_cast<int64_t>(plan_for_rank(sizes, o, epoch, r).size()));
  }
  return most;
}

Loader::Loader(FetchFn fetch, std::vector<vision::ImageSize> sizes, LoaderOptions options)
    : fetch_(std::move(fetch)), sizes_(std::move(sizes)), options_(options) {
  check_loader_options(options_);
}

Loader::Loader(const CachedDataset& dataset, LoaderOptions options, int64_t patch, int64_t shuffle)
    : Loader(
          [this, &dataset, patch, shuffle](const std::vector<int64_t>& idx) {
            // epoch_ is set before the worker starts (start_epoch), so reading it here is race-free.
            return dataset.batch(idx, patch, shuffle,
                                 options_.crop_jitter
                                     ? std::optional<CropJitter>(CropJitter{options_.seed, epoch_})
                                     : std::nullopt);
          },
          dataset.sample_sizes(), options) {}

Loader::~Loader() {
  stop_worker();
}

void Loader::stop_worker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.clear();
  stop_ = false;
  done_ = true;
  error_ = nullptr;
}

void Loader::start_epoch(int64_t epoch, int64_t first_batch) {
  stop_worker();
  plan_ = plan_epoch(sizes_, options_, epoch);
  epoch_ = epoch;
  if (first_batch < 0 || first_batch > static_cast<int64_t>(plan_.size())) {
    throw ValueError("loader: epoch " + std::to_string(epoch) + " has " + std::to_string(plan_.size()) +
                     " batches; cannot start at batch " + std::to_string(first_batch));
  }
  first_batch_ = first_batch;
  position_ = static_cast<size_t>(first_batch);
  consumed_ = first_batch;
  skipped_empty_ = 0;
  if (options_.prefetch == 0) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = false;
  }
  worker_ = std::thread([this] { run_worker(); });
}

void Loader::run_worker() {
  for (size_t i = static_cast<size_t>(first_batch_); i < plan_.size(); ++i) {
    Batch batch;
    try {
      batch = fetch_(plan_[i]);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
      done_ = true;
      changed_.notify_all();
      return;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    // Bounded: wait while `prefetch` batches are already waiting.
    changed_.wait(lock, [this] { return stop_ || static_cast<int64_t>(queue_.size()) < options_.prefetch; });
    if (stop_) return;
    queue_.push_back({std::move(batch)});
    changed_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  done_ = true;
  changed_.notify_all();
}

std::optional<Batch> Loader::fetch_next() {
  Batch batch;
  if (options_.prefetch == 0) {
    if (position_ >= plan_.size()) return std::nullopt;
    batch = fetch_(plan_[position_++]);
  } else {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !queue_.empty() || done_; });
    if (queue_.empty()) {
      if (error_) {
        std::exception_ptr e = error_;
        error_ = nullptr;
        std::rethrow_exception(e);
      }
      return std::nullopt;
    }
    batch = std::move(queue_.front().batch);
    queue_.pop_front();
    changed_.notify_all();
  }
  ++consumed_;
  return batch;
}

std::optional<Batch> Loader::next() {
  vision::NonEmptyBatches batches([this] { return fetch_next(); });
  std::optional<Batch> batch = batches.next();
  skipped_empty_ += batches.skipped();
  return batch;
}

}  // namespace amt::data
