#include "reference/precision/faults.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>

#include "reference/core/error.hpp"

namespace amt {

namespace {
// Registry state lives in a function-local static so registrations from other translation units'
// static initialisers find it constructed.
struct Registry {
  std::mutex mutex;
  std::vector<FaultInfo> catalogue;
  std::map<std::string, std::unique_ptr<std::atomic<bool>>> enabled;
};
Registry& registry() {
  static Registry r;
  return r;
}

std::atomic<bool>& flag(const std::string& name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.enabled.find(name);
  if (it == r.enabled.end()) {
    std::string known;
    for (const auto& f : r.catalogue) known += (known.empty() ? "" : ", ") + f.name;
    throw ConfigError("unknown fault switch '" + name + "' (known: " + known + ")");
  }
  return *it->second;
}
}  // namespace

FaultRegistration::FaultRegistration(std::string name, std::string description) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const auto known = r.enabled.find(name);
  if (known != r.enabled.end()) {  // the same fault consulted from two files: one flag
    flag_ = known->second.get();
    return;
  }
  flag_ = r.enabled.emplace(name, std::make_unique<std::atomic<bool>>(false)).first->second.get();
  r.catalogue.push_back({std::move(name), std::move(description)});
  std::sort(r.catalogue.begin(), r.catalogue.end(),
            [](const FaultInfo& a, const FaultInfo& b) { return a.name < b.name; });
}

const std::vector<FaultInfo>& fault_catalogue() {
  return registry().catalogue;
}

bool fault_enabled(const std::string& name) {
  return flag(name).load(std::memory_order_relaxed);
}

void set_fault(const std::string& name, bool enabled) {
  flag(name).store(enabled);
}

ScopedFault::ScopedFault(std::string name) : name_(std::move(name)), previous_(fault_enabled(name_)) {
  set_fault(name_, true);
}

ScopedFault::~ScopedFault() {
  set_fault(name_, previous_);
}

FaultsSuspended::FaultsSuspended() {
  for (const FaultInfo& f : fault_catalogue()) {
    if (fault_enabled(f.name)) {
      enabled_.push_back(f.name);
      set_fault(f.name, false);
    }
  }
}

FaultsSuspended::~FaultsSuspended() {
  for (const std::string& name : enabled_) set_fault(name, true);
}

}  // namespace amt
