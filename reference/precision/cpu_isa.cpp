#include "reference/precision/cpu_isa.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "reference/core/error.hpp"

namespace amt::precision {

namespace {
std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

CpuInfo read_cpu_info() {
  CpuInfo info{"unknown CPU", CpuIsa::kBelowAvx2, CpuIsa::kBelowAvx2, ""};
  std::ifstream in("/proc/cpuinfo");
  bool have_model = false, have_flags = false;
  for (std::string line; std::getline(in, line) && !(have_model && have_flags);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (!have_model && line.rfind("model name", 0) == 0) {
      info.model = value;
      have_model = true;
    } else if (!have_flags && line.rfind("flags", 0) == 0) {
      info.hardware = isa_from_cpu_flags(value);
      have_flags = true;
    }
  }
  info.dispatched = info.hardware;
  for (const char* variable : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
    const char* value = std::getenv(variable);
    if (!value) continue;
    try {
      if (const auto cap = isa_cap_from_onednn_value(value, variable)) {
        info.dispatched = std::min(info.hardware, *cap);
        info.cap = std::string(variable) + "=" + value;
      }
    } catch (const ConfigError&) {
      info.cap = std::string(variable) + "=" + value + " is not a oneDNN ISA name, no cap";
    }
    break;  // oneDNN reads the first of the two that is set
  }
  return info;
}
}  // namespace

std::string isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kBelowAvx2:
      return "below avx2";
    case CpuIsa::kAvx2:
      return "avx2";
    case CpuIsa::kAvx512Core:
      return "avx512_core";
    case CpuIsa::kAvx512CoreBf16:
      return "avx512_core_bf16";
    case CpuIsa::kAvx512CoreAmx:
      return "avx512_core_amx";
  }
  return "?";
}

CpuIsa isa_from_cpu_flags(const std::string& flags) {
  std::set<std::string> have;
  std::istringstream words(flags);
  for (std::string w; words >> w;) have.insert(w);
  const auto all = [&](std::initializer_list<const char*> names) {
    return std::all_of(names.begin(), names.end(), [&](const char* n) { return have.count(n) > 0; });
  };
  if (!all({"avx2", "fma"})) return CpuIsa::kBelowAvx2;
  if (!all({"avx512f", "avx512bw", "avx512vl", "avx512dq"})) return CpuIsa::kAvx2;
  if (!all({"avx512_bf16"})) return CpuIsa::kAvx512Core;
  if (!all({"amx_tile", "amx_bf16"})) return CpuIsa::kAvx512CoreBf16;
  return CpuIsa::kAvx512CoreAmx;
}

std::optional<CpuIsa> isa_cap_from_onednn_value(const std::string& value, const std::string& variable) {
  const std::string v = upper(value);
  if (v.empty() || v == "ALL" || v == "DEFAULT") return std::nullopt;
  struct Row {
    const char* name;
    CpuIsa isa;
  };
  static const Row rows[] = {
      {"SSE41", CpuIsa::kBelowAvx2},
      {"AVX", CpuIsa::kBelowAvx2},
      {"AVX2", CpuIsa::kAvx2},
      {"AVX2_VNNI", CpuIsa::kAvx2},
      {"AVX2_VNNI_2", CpuIsa::kAvx2},
      {"AVX512_CORE", CpuIsa::kAvx512Core},
      {"AVX512_CORE_VNNI", CpuIsa::kAvx512Core},
      {"AVX512_CORE_BF16", CpuIsa::kAvx512CoreBf16},
      {"AVX512_CORE_FP16", CpuIsa::kAvx512CoreBf16},
      {"AVX10_1_512", CpuIsa::kAvx512CoreBf16},
      {"AVX512_CORE_AMX", CpuIsa::kAvx512CoreAmx},
      {"AVX512_CORE_AMX_FP16", CpuIsa::kAvx512CoreAmx},
      {"AVX10_1_512_AMX", CpuIsa::kAvx512CoreAmx},
      {"AVX10_1_512_AMX_FP16", CpuIsa::kAvx512CoreAmx},
  };
  std::string known;
  for (const Row& r : rows) {
    if (v == r.name) return r.isa;
    known += std::string(known.empty() ? "" : ", ") + r.name;
  }
  throw ConfigError(variable + "=" + value + " is not a oneDNN ISA name (known: " + known + ", ALL)");
}

const CpuInfo& cpu_info() {
  static const CpuInfo info = read_cpu_info();
  return info;
}

std::string cpu_summary() {
  const CpuInfo& c = cpu_info();
  std::string s = c.model + "; " + isa_name(c.dispatched);
  if (!c.cap.empty()) s += " (" + c.cap + "; the CPU has " + isa_name(c.hardware) + ")";
  return s;
}

}  // namespace amt::precision
