// The data-parallel pieces on real c10d groups inside one process (one thread per rank, loopback TCPStore or
// a FileStore): the bucket layout, the image-weighted gradient mean, a dummy rank contributing nothing, the
// ranks agreeing to skip, broadcast/all-gather/share_from_root, and a collective failing (not hanging) when a
// peer is gone.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "conformance/testing/scratch_dir.hpp"
#include "trainer/gradient_buckets.hpp"
#include "trainer/launcher.hpp"
#include "trainer/process_group.hpp"

namespace amt::trainer {
namespace {

int next_port() {
  static std::atomic<int> port{23000 + static_cast<int>(::getpid() % 20000)};
  return port++;
}

// Runs `body(rank)` on `world` threads, each with its own connected group; rethrows the first failure.
void on_ranks(int64_t world, const std::function<void(ProcessGroup&)>& body, DistOptions base = {}) {
  base.world_size = world;
  if (base.store_file.empty()) base.master_port = next_port();
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(world));
  for (int64_t r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        DistOptions o = base;
        o.rank = r;
        auto group = ProcessGroup::connect(o);
        body(*group);
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

std::vector<torch::Tensor> make_params(const std::vector<int64_t>& sizes) {
  std::vector<torch::Tensor> out;
  for (int64_t n : sizes) out.push_back(torch::zeros({n}).requires_grad_(true));
  return out;
}

TEST(GradientBuckets, ReverseOrderAndByteCaps) {
  // 4-byte floats: caps of 40 bytes (first) and 80 bytes = 10 and 20 elements.
  const auto params = make_params({8, 8, 8, 8, 30});
  BucketOptions bo;
  bo.first_bucket_bytes = 40;
  bo.bucket_bytes = 80;
  const GradientBuckets b(params, precision::PrecisionPolicy::parse("fp32"), bo);
  ASSERT_EQ(b.buckets().size(), 3u);
  EXPECT_EQ(b.buckets()[0].params, (std::vector<int64_t>{4}));  // the last parameter first, alone (30 > 10)
  EXPECT_EQ(b.buckets()[1].params, (std::vector<int64_t>{3, 2, 1}));
  EXPECT_EQ(b.buckets()[2].params, (std::vector<int64_t>{0}));
  EXPECT_EQ(b.buckets()[1].bytes, 96);
  // bf16 parameters are reduced in fp32 (the optimizer island), so the bytes are those of fp32.
  std::vector<torch::Tensor> bf;
  for (const auto& p : params) bf.push_back(p.detach().to(torch::kBFloat16).requires_grad_(true));
  const GradientBuckets b16(bf, precision::PrecisionPolicy::parse("bf16-pure"), bo);
  EXPECT_EQ(b16.buckets()[1].bytes, 96);
  EXPECT_THROW(GradientBuckets(params, precision::PrecisionPolicy::parse("fp32"), BucketOptions{0, 1}),
               ConfigError);
}

TEST(GradientBuckets, ImageWeightedMeanAndAgreedSkips) {
  on_ranks(3, [](ProcessGroup& g) {
    auto params = make_params({5, 700, 3});
    BucketOptions bo;
    bo.first_bucket_bytes = 16;
    bo.bucket_bytes = 1024;
    GradientBuckets b(params, precision::PrecisionPolicy::parse("fp32"), bo);
    const double r = static_cast<double>(g.rank());
    // Rank r has gradient (r + 1) everywhere and 2·r images: rank 0 is a dummy (0 images).
    for (auto& p : params) p.mutable_grad() = torch::full_like(p, r + 1.0);
    const GradientBuckets::Verdict v = b.reduce(g, 2.0 * r, false);
    EXPECT_FALSE(v.skip);
    EXPECT_DOUBLE_EQ(v.global_images, 6.0);
    // (2·2 + 4·3) / 6 = 16/6: the dummy rank's 1.0 does not count.
    for (const auto& p : params) EXPECT_TRUE(torch::allclose(p.grad(), torch::full_like(p, 16.0 / 6.0)));

    // A parameter that got no gradient on a rank still gets the mean of the others.
    params[1].mutable_grad() = torch::Tensor();
    if (g.rank() == 2) params[1].mutable_grad() = torch::full_like(params[1], 3.0);
    b.reduce(g, 1.0, false);
    EXPECT_TRUE(torch::allclose(params[1].grad(), torch::full_like(params[1], 1.0)));

    // One rank with a non-finite loss: every rank skips.
    EXPECT_TRUE(b.reduce(g, 1.0, g.rank() == 1).skip);
    // No real image anywhere: skip.
    EXPECT_TRUE(b.reduce(g, 0.0, false).skip);
  });
}

TEST(ProcessGroup, BroadcastAllgatherAndShareFromRootOverAFileStore) {
  const ScratchDir dir;
  DistOptions o;
  o.store_file = dir.file("store");
  on_ranks(
      2,
      [](ProcessGroup& g) {
        std::vector<torch::Tensor> t{torch::full({3}, static_cast<double>(g.rank() + 7), torch::kDouble)};
        g.broadcast(t, 0);
        EXPECT_TRUE(torch::equal(t[0], torch::full({3}, 7.0, torch::kDouble)));
        const torch::Tensor all = g.allgather(torch::tensor({g.rank() * 10}, torch::kLong));
        EXPECT_EQ(all.sizes(), (torch::IntArrayRef{2, 1}));
        EXPECT_EQ(all[1][0].item<int64_t>(), 10);
        EXPECT_EQ(g.share_from_root("verdict", g.is_root() ? "passed" : "ignored"), "passed");
      },
      o);
}

TEST(ProcessGroup, ACollectiveFailsWithinTheTimeoutWhenAPeerNeverComes) {
  DistOptions o;
  o.timeout_s = 2.0;
  const auto t0 = std::chrono::steady_clock::now();
  on_ranks(
      2,
      [](ProcessGroup& g) {
        // Both ranks finish one all-reduce first: leaving straight after connect let rank 1 close its side
        // while rank 0 was still connecting (under load), so connect failed instead of the collective.
        std::vector<torch::Tensor> t{torch::ones({4})};
        g.allreduce_sum(t);
        if (g.rank() == 1) return;  // rank 1 leaves without taking part in the next one
        try {
          g.allreduce_sum(t);
          ADD_FAILURE() << "the all-reduce returned without its peer";
        } catch (const DistributedError& e) {
          EXPECT_NE(std::string(e.what()).find("rank 0"), std::string::npos) << e.what();
        }
      },
      o);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
}

TEST(DistOptions, EnvironmentAndChecks) {
  ::setenv("RANK", "1", 1);
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("MASTER_PORT", "29999", 1);
  const DistOptions o = dist_options_from_environment({});
  EXPECT_EQ(o.rank, 1);
  EXPECT_EQ(o.world_size, 4);
  EXPECT_EQ(o.master_port, 29999);
  ::setenv("RANK", "one", 1);
  EXPECT_THROW(dist_options_from_environment({}), ConfigError);
  ::unsetenv("RANK");
  ::unsetenv("WORLD_SIZE");
  ::unsetenv("MASTER_PORT");
  DistOptions bad;
  bad.world_size = 2;
  bad.rank = 2;
  EXPECT_THROW(check_dist_options(bad), ConfigError);
  EXPECT_EQ(without_nproc({"--nproc", "2", "--epochs", "1", "--nproc=3"}),
            (std::vector<std::string>{"--epochs", "1"}));
}

}  // namespace
}  // namespace amt::trainer
