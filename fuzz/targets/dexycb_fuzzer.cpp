// libFuzzer target for DexYCB's small YAML files (reference/data/dexycb_layout.cpp): the input is parsed as
// a meta.yml, an intrinsics file and a mano.yml; each either parses or raises a typed amt::Error
// (FormatError naming the file and the field). Accepted meta files must survive format_meta → parse_meta.
#include <cstddef>
#include <cstdint>
#include <string>

#include "reference/core/error.hpp"
#include "reference/data/dexycb_layout.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const amt::data::SequenceMeta m = amt::data::parse_meta(text, "meta.yml");
    const amt::data::SequenceMeta again = amt::data::parse_meta(amt::data::format_meta(m), "formatted.yml");
    if (again.num_frames != m.num_frames || again.ycb_ids != m.ycb_ids) __builtin_trap();
  } catch (const amt::Error&) {
  }
  try {
    const amt::data::ColorIntrinsics K = amt::data::parse_intrinsics(text, "intrinsics.yml");
    const amt::data::ColorIntrinsics again =
        amt::data::parse_intrinsics(amt::data::format_intrinsics(K), "formatted.yml");
    if (again.fx != K.fx || again.fy != K.fy || again.ppx != K.ppx || again.ppy != K.ppy) __builtin_trap();
  } catch (const amt::Error&) {
  }
  try {
    (void)amt::data::parse_mano_betas(text, "mano.yml");
  } catch (const amt::Error&) {
  }
  return 0;
}
