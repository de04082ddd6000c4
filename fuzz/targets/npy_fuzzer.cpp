// libFuzzer target for the npy parser: any bytes either decode or raise amt::FormatError / amt::DtypeError.
#include <cstddef>
#include <cstdint>

#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"
#include "reference/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const torch::Tensor t = amt::io::parse_npy(data, size, "fuzz-input", "array");
    if (t.numel() > 0) (void)t.reshape({-1}).to(torch::kDouble).sum().item<double>();
  } catch (const amt::FormatError&) {
  } catch (const amt::LimitError&) {  // a size beyond a ceiling (reference/core/limits.hpp)
  } catch (const amt::DtypeError&) {
  }
  return 0;
}
