#include "reference/data/loader.hpp"

#include <utility>

#include "reference/core/error.hpp"
#include "reference/data/cached_dataset.hpp"
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
  // Buckets in order of first appearance within this rank's shard.
  std::vector<vision::ImageSize> bucket_size;
  std::vector<std::vector<int64_t>> buckets;
  for (size_t p = static_cast<size_t>(rank); p < order.size(); p += static_cast<size_t>(o.world_size)) {
    const int64_t idx = order[p];
    size_t b = 0;
    if (o.bucket_by_size) {
      const vision::ImageSize s = sizes[static_cast<size_t>(idx)];
      while (b < bucket_size.size() && bucket_size[b] != s) ++b;
      if (b == bucket_size.size()) {
        bucket_size.push_back(s);
        buckets.emplace_back();
      }
    } else if (buckets.empty()) {
      buckets.emplace_back();
    }
    buckets[b].push_back(idx);
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

bool batch_is_empty(const Batch& batch) {
  if (batch.empty()) return true;
  const auto it = batch.find("image");
  const torch::Tensor& t = it != batch.end() ? it->second : batch.begin()->second;
  return t.dim() == 0 ? false : t.size(0) == 0;
}

Loader::Loader(FetchFn fetch, std::vector<vision::ImageSize> sizes, LoaderOptions options)
    : fetch_(std::move(fetch)), sizes_(std::move(sizes)), options_(options) {
  check_loader_options(options_);
}

Loader::Loader(const CachedDataset& dataset, LoaderOptions options)
    : Loader([&dataset](const std::vector<int64_t>& idx) { return dataset.gather(idx); },
             dataset.image_sizes(), options) {}

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

void Loader::start_epoch(int64_t epoch) {
  stop_worker();
  plan_ = plan_epoch(sizes_, options_, epoch);
  position_ = 0;
  skipped_empty_ = 0;
  if (options_.prefetch == 0) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = false;
  }
  worker_ = std::thread([this] { run_worker(); });
}

void Loader::run_worker() {
  for (const auto& indices : plan_) {
    Batch batch;
    try {
      batch = fetch_(indices);
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

std::optional<Batch> Loader::next() {
  for (;;) {
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
    if (batch_is_empty(batch)) {
      ++skipped_empty_;
      continue;
    }
    return batch;
  }
}

}  // namespace amt::data
