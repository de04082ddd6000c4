// amt_bench: every benchmark of bench/ (Google Benchmark flags: --benchmark_filter=REGEX,
// --benchmark_format=json, ...). `bash ci/bench` runs it with the eager-PyTorch side and writes
// docs/performance.md.
#include <benchmark/benchmark.h>

#include <torch/version.h>

#include "bench/registry.hpp"
#include "reference/core/runtime.hpp"
#include "reference/precision/cpu_isa.hpp"
#include "reference/precision/platform.hpp"

int main(int argc, char** argv) {
  // The allocator and thread settings every AMT-Ref executable runs with, recorded in the JSON's context.
  benchmark::AddCustomContext("amt_runtime", amt::describe(amt::configure_runtime()));
  benchmark::AddCustomContext("libtorch", TORCH_VERSION);
  benchmark::AddCustomContext("amt_platform", amt::precision::describe(amt::precision::platform()));
  benchmark::AddCustomContext("amt_cpu_isa", amt::precision::isa_name(amt::precision::cpu_info().dispatched));
  amt::bench::register_backbone_benchmarks();
  amt::bench::register_model_benchmarks();
  amt::bench::register_conformance_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
