// The property table (ggml's test-backend-ops style): one row per property — its name, family (the suite
// file that runs it), what it checks, the budgets it cites, the fault switches it is meant to catch, a
// RapidCheck generator of cases (shapes, dtypes and a seed — never tensor elements) and the function that
// runs one case on the real code (AmtModel, compute_losses, DynamicResize, the collator, ...).
//
// Families: dtype_mix (P1, P5, errors vs the FP32 run in task units), rect_grids (V1–V3, position
// interpolation vs FP64, refinement sampling), dummy_batches (V6–V7), batch_invariance (V4–V5), golden
// (FP32 vs the stored goldens), numeric_faults (NaN/Inf, degenerate cameras, points behind the camera,
// zero-area images).
#pragma once
#include <rapidcheck/Gen.h>

#include <functional>
#include <string>
#include <vector>

#include "conformance/lib/case.hpp"
#include "conformance/lib/outcome.hpp"

namespace amt::conformance {

// What a generator may draw from: `config` fixes the model config; a non-empty `policy` fixes the policy
// (cases of properties that take no policy ignore it).
struct GenOptions {
  std::string config = "tiny";
  std::string policy;
};

// A fault switch a property is meant to catch, and the reason it must fail for: an ECMAScript regex searched
// in the failing check's line (a budget breach, a dtype mismatch of the P1/P5 tables, a specific typed
// error). Failing for another reason does not count as catching it.
struct Catch {
  std::string fault;
  std::string reason;
};

struct Property {
  std::string name;    // "dtype_mix.forward"
  std::string family;  // "dtype_mix"
  std::string description;
  std::vector<std::string> budgets;  // budget quantities it checks
  std::vector<Catch> catches;        // fault switches it is meant to catch, each with its reason
  int quick_cases = 10;              // cases per run in the quick profile (ctest, the trainer's gate)
  std::function<rc::Gen<Case>(const GenOptions&)> gen;
  std::function<Outcome(const Case&)> run;
};

const std::vector<Property>& property_table();
// amt::ConfigError listing the known names when there is no such property.
const Property& find_property(const std::string& name);

// Runs a case under its property, turning every exception into a failed "error" check that names the error
// type (amt::DtypeError, c10::Error, ...) and its first line, so a run never throws.
Outcome run_case(const Case& c);

// The families' rows (one file each), collected by property_table().
std::vector<Property> dtype_mix_properties();
std::vector<Property> rect_grid_properties();
std::vector<Property> batch_properties();
std::vector<Property> metrics_properties();
std::vector<Property> storage_properties();
std::vector<Property> golden_properties();
std::vector<Property> numeric_properties();

// "amt::DtypeError: <first line>" for any exception (used by run_case and by properties that expect one).
std::string describe_exception(const std::exception& e);

}  // namespace amt::conformance
