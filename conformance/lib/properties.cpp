#include "conformance/lib/properties.hpp"

#include <c10/util/Exception.h>

#include <opencv2/core.hpp>

#include "reference/core/error.hpp"

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
  std::string kind = "std::exception";
  if (dynamic_cast<const DtypeError*>(&e))
    kind = "amt::DtypeError";
  else if (dynamic_cast<const ShapeError*>(&e))
    kind = "amt::ShapeError";
  else if (dynamic_cast<const ValueError*>(&e))
    kind = "amt::ValueError";
  else if (dynamic_cast<const ConfigError*>(&e))
    kind = "amt::ConfigError";
  else if (dynamic_cast<const UnsupportedError*>(&e))
    kind = "amt::UnsupportedError";
  else if (dynamic_cast<const FormatError*>(&e))
    kind = "amt::FormatError";
  else if (dynamic_cast<const Error*>(&e))
    kind = "amt::Error";
  else if (dynamic_cast<const c10::Error*>(&e))
    kind = "c10::Error";
  else if (dynamic_cast<const cv::Exception*>(&e))
    kind = "cv::Exception";
  else if (dynamic_cast<const std::bad_alloc*>(&e))
    kind = "std::bad_alloc";
  // c10::Error's what() carries a backtrace after the first line.
  std::string what = dynamic_cast<const c10::Error*>(&e)
                         ? static_cast<const c10::Error&>(e).what_without_backtrace()
                         : e.what();
  const auto nl = what.find('\n');
  if (nl != std::string::npos) what = what.substr(0, nl);
  return kind + ": " + what;
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
