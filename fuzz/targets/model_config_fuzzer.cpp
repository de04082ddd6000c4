// libFuzzer target for the model config loader (configs/*.yaml, reference/model/amt_config.cpp): any text
// either gives a config or raises a typed amt::Error (ConfigError naming the key); anything else escaping —
// a YAML exception, a crash, a sanitizer report — is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "reference/core/error.hpp"
#include "reference/model/amt_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const amt::model::AmtConfig c = amt::model::parse_amt_config(text, "fuzz.yaml");
    (void)c.dim();
  } catch (const amt::Error&) {
  }
  return 0;
}
