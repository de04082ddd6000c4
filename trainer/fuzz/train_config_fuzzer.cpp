// libFuzzer target for the trainer config (configs/train/*.yaml and `--set key=value`, trainer/
// train_config.cpp): the whole input as a YAML file, and each of its lines as a `--set` override; either
// accepted or a typed amt::Error naming the key. Accepted configs must survive the config.json round trip.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "reference/core/error.hpp"
#include "trainer/train_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const amt::trainer::TrainConfig c = amt::trainer::parse_train_config(text, "fuzz.yaml");
    const amt::trainer::TrainConfig back = amt::trainer::from_json(amt::trainer::to_json(c), "config.json");
    if (amt::trainer::describe(back) != amt::trainer::describe(c))
      __builtin_trap();  // lost in the round trip
  } catch (const amt::Error&) {
  }
  amt::trainer::TrainConfig c;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    try {
      amt::trainer::apply_override(c, line);
    } catch (const amt::Error&) {
    }
  }
  try {
    amt::trainer::check_train_config(c);
  } catch (const amt::Error&) {
  }
  return 0;
}
