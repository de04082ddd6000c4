// Fault switches: each named precision decision or pipeline rule can be switched to its buggy upstream
// variant, so the conformance suites can prove they catch it (docs/design.md §6, mutation score 100%).
// Off by default; only tests and `amt_conformance --fault NAME` turn them on.
#pragma once
#include <atomic>
#include <string>
#include <vector>

namespace amt {

struct FaultInfo {
  std::string name;         // e.g. "boundary.image_dtype"
  std::string description;  // the upstream bug it re-introduces, with its source (seed or hazard)
};

// Every fault switch the library knows; names are stable (tests and reports refer to them).
const std::vector<FaultInfo>& fault_catalogue();
// True while the named fault is switched on. Unknown names throw amt::ConfigError.
bool fault_enabled(const std::string& name);
void set_fault(const std::string& name, bool enabled);

// Switches one fault on for a scope (tests).
class ScopedFault {
 public:
  explicit ScopedFault(std::string name);
  ~ScopedFault();
  ScopedFault(const ScopedFault&) = delete;
  ScopedFault& operator=(const ScopedFault&) = delete;

 private:
  std::string name_;
  bool previous_;
};

// Switches every fault off for a scope and restores them on exit: the harness computes its fault-free
// reference (the FP32 run of the same case) under this while the subject run keeps the injected faults.
class FaultsSuspended {
 public:
  FaultsSuspended();
  ~FaultsSuspended();
  FaultsSuspended(const FaultsSuspended&) = delete;
  FaultsSuspended& operator=(const FaultsSuspended&) = delete;

 private:
  std::vector<std::string> enabled_;
};

// Registers a fault at static-initialisation time, once per fault, in the .cpp that consults it, and is the
// handle that code reads on its hot path — one relaxed atomic load, no lock, no lookup:
//   const amt::FaultRegistration kFault{"boundary.image_dtype", "seed 000: ..."};
//   if (kFault.on()) return upstream_variant(...);
class FaultRegistration {
 public:
  FaultRegistration(std::string name, std::string description);
  bool on() const { return flag_->load(std::memory_order_relaxed); }

 private:
  const std::atomic<bool>* flag_;
};

}  // namespace amt
