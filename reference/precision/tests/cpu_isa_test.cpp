#include "reference/precision/cpu_isa.hpp"

#include <gtest/gtest.h>

#include "reference/core/error.hpp"

namespace amt::precision {
namespace {

const std::string kAvx2 = "fpu sse4_2 avx avx2 fma f16c";
const std::string kAvx512 = kAvx2 + " avx512f avx512dq avx512cd avx512bw avx512vl";

TEST(CpuIsa, FlagsGiveTheHighestCompleteLevel) {
  EXPECT_EQ(isa_from_cpu_flags("fpu sse4_2 avx"), CpuIsa::kBelowAvx2);
  EXPECT_EQ(isa_from_cpu_flags(kAvx2), CpuIsa::kAvx2);
  EXPECT_EQ(isa_from_cpu_flags(kAvx2 + " avx512f avx512bw avx512vl"), CpuIsa::kAvx2) << "avx512dq missing";
  EXPECT_EQ(isa_from_cpu_flags(kAvx512), CpuIsa::kAvx512Core);
  EXPECT_EQ(isa_from_cpu_flags(kAvx512 + " avx512_bf16"), CpuIsa::kAvx512CoreBf16);
  EXPECT_EQ(isa_from_cpu_flags(kAvx512 + " avx512_bf16 amx_tile"), CpuIsa::kAvx512CoreBf16) << "no amx_bf16";
  EXPECT_EQ(isa_from_cpu_flags(kAvx512 + " avx512_bf16 amx_bf16 amx_tile amx_int8"), CpuIsa::kAvx512CoreAmx);
  // Whole words only: "avx512_bf16" must not satisfy "avx512f".
  EXPECT_EQ(isa_from_cpu_flags(kAvx2 + " avx512_bf16 avx512bw avx512vl avx512dq"), CpuIsa::kAvx2);
}

TEST(CpuIsa, OnednnCapValuesMapDownAndUnknownOnesAreConfigErrors) {
  EXPECT_FALSE(isa_cap_from_onednn_value("ALL", "ONEDNN_MAX_CPU_ISA").has_value());
  EXPECT_FALSE(isa_cap_from_onednn_value("", "ONEDNN_MAX_CPU_ISA").has_value());
  EXPECT_EQ(isa_cap_from_onednn_value("avx2", "X"), CpuIsa::kAvx2);
  EXPECT_EQ(isa_cap_from_onednn_value("AVX512_CORE_VNNI", "X"), CpuIsa::kAvx512Core);
  EXPECT_EQ(isa_cap_from_onednn_value("AVX512_CORE_BF16", "X"), CpuIsa::kAvx512CoreBf16);
  EXPECT_EQ(isa_cap_from_onednn_value("AVX512_CORE_AMX", "X"), CpuIsa::kAvx512CoreAmx);
  try {
    isa_cap_from_onednn_value("AVX9000", "DNNL_MAX_CPU_ISA");
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("DNNL_MAX_CPU_ISA=AVX9000"), std::string::npos) << e.what();
  }
}

TEST(CpuIsa, ThisMachineIsDescribedAndItsFingerprintNamesTheIsa) {
  const std::string s = cpu_summary();
  EXPECT_NE(s.find(isa_name(cpu_info().dispatched)), std::string::npos) << s;
  EXPECT_LE(cpu_info().dispatched, cpu_info().hardware);
}

}  // namespace
}  // namespace amt::precision
