// The cost of consulting a fault switch that is off, on the hot path (every LayerNorm, grid_sample, shuffle):
// the registration handle's relaxed atomic load vs the by-name lookup (mutex + map) the CLI and tests use.
#include <benchmark/benchmark.h>

#include "reference/precision/faults.hpp"

namespace {

const amt::FaultRegistration kBenchFault{"bench.off_switch", "benchmark only: never switched on"};

void BM_FaultSwitchHandle(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(kBenchFault.on());
}
BENCHMARK(BM_FaultSwitchHandle);

void BM_FaultSwitchByName(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(amt::fault_enabled("bench.off_switch"));
}
BENCHMARK(BM_FaultSwitchByName);

}  // namespace
