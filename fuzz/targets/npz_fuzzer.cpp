// libFuzzer target for the npz reader (zip through libzip, then npy): any bytes either decode or raise a
// typed amt::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"
#include "reference/io/npz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const amt::io::NpzReader reader(std::string(reinterpret_cast<const char*>(data), size), "fuzz-input");
    for (const auto& [name, t] : reader.read_all()) {
      if (t.numel() > 0) (void)t.reshape({-1}).to(torch::kDouble).sum().item<double>();
    }
  } catch (const amt::FormatError&) {
  } catch (const amt::LimitError&) {  // a size beyond a ceiling (reference/core/limits.hpp)
  } catch (const amt::DtypeError&) {
  }
  return 0;
}
