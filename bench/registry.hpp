// The benchmarks that are registered at run time (their cases are tables: presets × sizes × batches ×
// policies, the property families), called by bench/main.cpp before Google Benchmark parses its flags.
// The fixed ones use BENCHMARK() in their files.
#pragma once

namespace amt::bench {

void register_backbone_benchmarks();     // backbone_bench.cpp
void register_model_benchmarks();        // model_bench.cpp
void register_conformance_benchmarks();  // conformance_bench.cpp

}  // namespace amt::bench
