#include "conformance/lib/properties.hpp"

#include "reference/core/error.hpp"
#include "reference/core/exception_summary.hpp"

namespace amt::conformance {

const std::vector<Property>& property_table() {
  static const std::vector<Property> table = [] {
    std::vector<Property> t;
    for (auto family : {dtype_mix_properties, rect_grid_properties, batch_properties, metrics_properties,
                        storage_properties, golden_properties, numeric_properties}) {
      for (Property& p : family()) t.push_back(std::move(p));
    }
    return t;
  }();
  return table;
}

const Property& find_property(const std::string& name) {
  std::string known;
  for (const Property& p : property_table()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  throw ConfigError("unknown property '" + name + "' (known: " + known + ")");
}

std::string describe_exception(const std::exception& e) {
  const ExceptionSummary s = summarize_exception(e);
  return s.type + ": " + s.first_line;
}

Outcome run_case(const Case& c) {
  try {
    return find_property(c.property).run(c);
  } catch (const std::exception& e) {
    Outcome o;
    o.require(false, c.property, "error", describe_exception(e));
    return o;
  }
}

}  // namespace amt::conformance
