// libFuzzer target for the safetensors parser (docs/design.md §9): any byte string must either parse or raise
// amt::FormatError — never crash, hang, leak or read out of bounds (built with ASan + UBSan by ci/fuzz).
#include <cstddef>
#include <cstdint>

#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"
#include "reference/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const amt::io::Safetensors file = amt::io::parse_safetensors(data, size, "fuzz-input");
    // Touch every tensor's bytes so out-of-range views would be caught by ASan.
    for (const auto& [name, tensor] : file.tensors) {
      if (tensor.numel() > 0) (void)tensor.reshape({-1}).view(torch::kByte).sum().item<int64_t>();
    }
  } catch (const amt::FormatError&) {
  } catch (const amt::LimitError&) {  // a size beyond a ceiling (reference/core/limits.hpp)
    // The documented outcome for malformed input.
  }
  return 0;
}
