// Which vector instructions LibTorch's CPU kernels dispatch to on this machine. bf16 numbers depend on it:
// oneDNN's bf16 GEMMs round differently with AMX tiles, AVX512-BF16 dot products and plain AVX512 (which
// converts to fp32), so every bf16 budget says which ISAs it was measured on, and the build fingerprint and
// reports record the ISA beside the CPU model.
//
// The ISA is the CPU's (its /proc/cpuinfo flags) capped by oneDNN's own variable, as oneDNN reads it:
// ONEDNN_MAX_CPU_ISA, else DNNL_MAX_CPU_ISA (values AVX2, AVX512_CORE, AVX512_CORE_BF16, AVX512_CORE_AMX,
// ..., ALL). Both are read once per process, as oneDNN does.
#pragma once
#include <optional>
#include <string>

namespace amt::precision {

// Ordered: a later level implies every earlier one.
enum class CpuIsa { kBelowAvx2, kAvx2, kAvx512Core, kAvx512CoreBf16, kAvx512CoreAmx };

// "avx2", "avx512_core", "avx512_core_bf16", "avx512_core_amx" (oneDNN's names, lower case).
std::string isa_name(CpuIsa isa);

// The highest level whose instructions all appear in a /proc/cpuinfo "flags" line (space-separated):
// avx512_core needs avx512f, avx512bw, avx512vl and avx512dq; avx512_core_bf16 adds avx512_bf16;
// avx512_core_amx adds amx_tile and amx_bf16.
CpuIsa isa_from_cpu_flags(const std::string& flags);

// The level a oneDNN ISA-cap value selects (case-insensitive); nullopt for "", ALL and DEFAULT (no cap).
// Levels between ours map down to the one they include (AVX2_VNNI → avx2, AVX512_CORE_VNNI → avx512_core,
// AVX512_CORE_FP16 → avx512_core_bf16). amt::ConfigError naming `variable` for a value oneDNN does not know.
std::optional<CpuIsa> isa_cap_from_onednn_value(const std::string& value, const std::string& variable);

struct CpuInfo {
  std::string model;  // /proc/cpuinfo "model name", "unknown CPU" when absent
  CpuIsa hardware;    // what the CPU has
  CpuIsa dispatched;  // what oneDNN may use: hardware, capped by the variable below
  std::string cap;    // "ONEDNN_MAX_CPU_ISA=AVX2" when a cap is set, else ""
};

// This process's CPU (read once). A cap value oneDNN does not know is reported in `cap` and caps nothing.
const CpuInfo& cpu_info();

// One line for reports and fingerprints: "AMD EPYC; avx512_core_bf16", with the cap when one is set:
// "AMD EPYC; avx512_core (ONEDNN_MAX_CPU_ISA=AVX512_CORE; the CPU has avx512_core_bf16)".
std::string cpu_summary();

}  // namespace amt::precision
