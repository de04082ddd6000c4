// golden: FP32 against the stored goldens. golden.fp32 re-runs one manifest case (picked by the generator)
// from its stored inputs and compares every stored tensor with its stored tolerance; the golden ctest runs
// every case and the 10-step trajectory (verify_goldens).
#include "conformance/lib/gen_util.hpp"
#include "conformance/lib/golden_store.hpp"
#include "reference/core/error.hpp"

namespace amt::conformance {

namespace {
Outcome run_golden_case(const Case& c) {
  for (const GoldenSpec& s : golden_specs()) {
    if (s.c.seed == c.seed) {
      const std::string dir = find_golden_dir();
      return verify_golden_case(dir, read_golden_manifest(dir), s.id);
    }
  }
  throw ConfigError("golden.fp32: no golden case has seed " + std::to_string(c.seed));
}
}  // namespace

std::vector<Property> golden_properties() {
  return {
      {"golden.fp32",
       "golden",
       "a manifest case re-run in FP32 from its stored inputs: every output, probe, loss term and gradient "
       "within its stored tolerance, file and weights hashes as recorded",
       {"golden_factor", "golden_floor"},
       {},
       2,
       [](const GenOptions&) {
         return rc::gen::exec([] {
           std::vector<Case> cases;
           for (const GoldenSpec& s : golden_specs()) cases.push_back(s.c);
           return *rc::gen::elementOf(cases);
         });
       },
       run_golden_case}};
}

}  // namespace amt::conformance
