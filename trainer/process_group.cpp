#include "trainer/process_group.hpp"

// ProcessGroupGloo.hpp declares its class only under this macro (PyTorch's own build defines it when Gloo is
// built in, as in Debian's LibTorch; its headers come from libgloo-dev).
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <thread>
#include "reference/core/exception_summary.hpp"

namespace amt::trainer {
namespace {

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

// c10d reports with multi-line messages and a backtrace; the first line says what happened.
std::string first_line_of(const std::exception& e) {
  return summarize_exception(e).first_line;
}

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long long x = std::strtoll(v, &end, 10);
  if (*end != '\0')
    throw ConfigError(std::string("environment variable ") + name + "='" + v + "' is not an integer");
  return x;
}

}  // namespace

DistOptions dist_options_from_environment(DistOptions o) {
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) o.master_addr = a;
  o.master_port = env_int("MASTER_PORT", o.master_port);
  o.rank = env_int("RANK", o.rank);
  o.world_size = env_int("WORLD_SIZE", o.world_size);
  o.local_rank = env_int("LOCAL_RANK", o.local_rank);
  return o;
}

void check_dist_options(const DistOptions& o) {
  if (o.world_size < 1) throw ConfigError("--world-size " + std::to_string(o.world_size) + ": must be >= 1");
  if (o.rank < 0 || o.rank >= o.world_size)
    throw ConfigError("--rank " + std::to_string(o.rank) + ": must be in [0, world size " +
                      std::to_string(o.world_size) + ")");
  if (o.master_port < 1 || o.master_port > 65535)
    throw ConfigError("--master-port " + std::to_string(o.master_port) + ": must be in [1, 65535]");
  if (!(o.timeout_s > 0.0)) throw ConfigError("--dist-timeout must be > 0 seconds");
  if (!(o.wait_timeout_s > 0.0)) throw ConfigError("the store wait timeout must be > 0 seconds");
}

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

ProcessGroup::ProcessGroup(DistOptions options, std::unique_ptr<Impl> impl)
    : options_(std::move(options)), impl_(std::move(impl)) {}

ProcessGroup::~ProcessGroup() = default;

std::unique_ptr<ProcessGroup> ProcessGroup::connect(const DistOptions& o) {
  check_dist_options(o);
  if (o.world_size == 1) return std::unique_ptr<ProcessGroup>(new ProcessGroup(o, nullptr));
  auto impl = std::make_unique<Impl>();
  const std::string where = o.store_file.empty()
                                ? "store " + o.master_addr + ":" + std::to_string(o.master_port)
                                : "file store " + o.store_file;
  try {
    c10::intrusive_ptr<c10d::Store> base;
    if (o.store_file.empty()) {
      c10d::TCPStoreOptions so;
      so.port = static_cast<uint16_t>(o.master_port);
      so.isServer = o.rank == 0;
      so.numWorkers = static_cast<size_t>(o.world_size);
      so.waitWorkers = true;
      so.timeout = millis(o.timeout_s);
      base = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
    } else {
      base = c10::make_intrusive<c10d::FileStore>(o.store_file, static_cast<int>(o.world_size));
      base->setTimeout(millis(o.timeout_s));
    }
    impl->store = c10::make_intrusive<c10d::PrefixStore>("amt/", base);
    auto go = c10d::ProcessGroupGloo::Options::create(millis(o.timeout_s));
    // Loopback for a one-host run; otherwise the address this host resolves to (GLOO_SOCKET_IFNAME, as in
    // PyTorch, picks an interface by name).
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
      go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    } else if (o.master_addr == "127.0.0.1" || o.master_addr == "localhost") {
      go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      go->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, static_cast<int>(o.rank),
                                                              static_cast<int>(o.world_size), go);
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(o.rank) + " of " + std::to_string(o.world_size) +
                           ": could not connect through the " + where + " within " +
                           std::to_string(static_cast<int>(o.timeout_s)) + " s: " + first_line_of(e));
  }
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(o, std::move(impl)));
}

namespace {

void wait_all(const std::vector<c10::intrusive_ptr<c10d::Work>>& works, const DistOptions& o,
              const char* what) {
  try {
    for (const auto& w : works) w->wait(millis(o.timeout_s));
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(o.rank) + ": " + what +
                           " failed (a peer died or did not " + "answer within " +
                           std::to_string(static_cast<int>(o.timeout_s)) + " s): " + first_line_of(e));
  }
}

}  // namespace

void ProcessGroup::broadcast(std::vector<torch::Tensor>& tensors, int64_t root) {
  if (!impl_) return;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  c10d::BroadcastOptions bo;
  bo.rootRank = root;
  bo.timeout = millis(options_.timeout_s);
  try {
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      works.push_back(impl_->group->broadcast(one, bo));
    }
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(rank()) + ": broadcast failed: " + first_line_of(e));
  }
  wait_all(works, options_, "broadcast");
}

void ProcessGroup::allreduce_sum(std::vector<torch::Tensor>& tensors) {
  if (!impl_) return;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  c10d::AllreduceOptions ao;
  ao.reduceOp = c10d::ReduceOp::SUM;
  ao.timeout = millis(options_.timeout_s);
  try {
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      works.push_back(impl_->group->allreduce(one, ao));
    }
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(rank()) + ": all-reduce failed: " + first_line_of(e));
  }
  wait_all(works, options_, "all-reduce");
}

torch::Tensor ProcessGroup::allgather(const torch::Tensor& tensor) {
  if (!impl_) return tensor.unsqueeze(0).clone();
  std::vector<std::vector<at::Tensor>> out(1);
  for (int64_t r = 0; r < world_size(); ++r) out[0].push_back(torch::empty_like(tensor));
  std::vector<at::Tensor> in{tensor.contiguous()};
  c10d::AllgatherOptions ao;
  ao.timeout = millis(options_.timeout_s);
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = impl_->group->allgather(out, in, ao);
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(rank()) + ": all-gather failed: " + first_line_of(e));
  }
  wait_all({work}, options_, "all-gather");
  return torch::stack(out[0]);
}

std::string ProcessGroup::share_from_root(const std::string& key, const std::string& value) {
  if (!impl_) return value;
  const std::string ack = key + "/read";
  try {
    if (is_root()) {
      impl_->store->set(key, std::vector<uint8_t>(value.begin(), value.end()));
      // Every other rank adds 1 once it has the value; wait for all of them.
      const auto deadline = std::chrono::steady_clock::now() + millis(options_.wait_timeout_s);
      while (impl_->store->add(ack, 0) < world_size() - 1) {
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("not every rank read it");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      return value;
    }
    impl_->store->wait({key}, millis(options_.wait_timeout_s));
    const std::vector<uint8_t> v = impl_->store->get(key);
    impl_->store->add(ack, 1);
    return std::string(v.begin(), v.end());
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(rank()) + ": sharing '" + key + "' from rank 0 failed " +
                           "(a rank died, or it took longer than " +
                           std::to_string(static_cast<int>(options_.wait_timeout_s)) +
                           " s): " + first_line_of(e));
  }
}

}  // namespace amt::trainer
