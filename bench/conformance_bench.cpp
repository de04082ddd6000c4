// Conformance throughput: cases per second (items_per_second) of each property family in the quick profile
// (each property's quick_cases from a fixed seed, as ctest and the trainer's gate run them), and of
// `amt_conformance --fuzz` over the whole table (run_fuzz with a case budget). The first pass of each is a
// warm-up that builds and caches the models and goldens, as the second and later runs of a session find
// them.
#include <benchmark/benchmark.h>

#include <string>

#include "bench/registry.hpp"
#include "conformance/lib/fuzz_runner.hpp"
#include "conformance/lib/properties.hpp"

namespace {

int64_t run_family(const std::string& family) {
  int64_t cases = 0;
  for (const auto& p : amt::conformance::property_table()) {
    if (p.family != family) continue;
    const auto r = amt::conformance::check_property(p, p.quick_cases, /*seed=*/1);
    if (r.failed) throw std::runtime_error("bench: " + p.name + " failed: " + r.message());
    cases += r.cases;
  }
  return cases;
}

void BM_PropertyFamily(benchmark::State& state, std::string family) {
  run_family(family);  // warm-up
  int64_t cases = 0;
  for (auto _ : state) cases += run_family(family);
  state.SetItemsProcessed(cases);
}

void BM_Fuzz(benchmark::State& state) {
  amt::conformance::FuzzOptions o;
  o.cases = state.range(0);
  o.seed = 7;
  amt::conformance::run_fuzz(o);  // warm-up
  int64_t cases = 0;
  for (auto _ : state) {
    const auto r = amt::conformance::run_fuzz(o);
    if (r.failed > 0) state.SkipWithError("a fuzz case failed");
    cases += r.cases;
  }
  state.SetItemsProcessed(cases);
}

}  // namespace

void amt::bench::register_conformance_benchmarks() {
  std::vector<std::string> families;
  for (const auto& p : amt::conformance::property_table())
    if (std::find(families.begin(), families.end(), p.family) == families.end()) families.push_back(p.family);
  for (const auto& f : families)
    benchmark::RegisterBenchmark(("BM_PropertyFamily/" + f).c_str(), BM_PropertyFamily, f)
        ->Unit(benchmark::kSecond)
        ->UseRealTime()
        ->Iterations(1);
  benchmark::RegisterBenchmark("BM_Fuzz", BM_Fuzz)
      ->Arg(60)
      ->Unit(benchmark::kSecond)
      ->UseRealTime()
      ->Iterations(1);
}
