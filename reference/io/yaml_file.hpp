// YAML files with errors that name the file and the key: a thin layer over yaml-cpp for the small config-like
// files of DexYCB (meta.yml, intrinsics, mano.yml). `field` arguments are dotted key paths ("color.fx").
#pragma once
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

namespace amt::io {

// Parses a YAML file: amt::IoError when unreadable, amt::FormatError(file, "", "line L: ...") when not YAML.
YAML::Node load_yaml_file(const std::string& path);
// Parses YAML text; `file` names it in errors.
YAML::Node parse_yaml(const std::string& text, const std::string& file);

// The child `key` of a mapping. FormatError(file, field) when `node` is not a mapping or lacks the key;
// `field` is the full path reported ("color.fx").
YAML::Node yaml_child(const YAML::Node& node, const std::string& key, const std::string& file,
                      const std::string& field);

// Scalars and sequences of scalars, converted with a FormatError(file, field) on a type mismatch.
double yaml_double(const YAML::Node& node, const std::string& file, const std::string& field);
int64_t yaml_int(const YAML::Node& node, const std::string& file, const std::string& field);
std::string yaml_string(const YAML::Node& node, const std::string& file, const std::string& field);
std::vector<double> yaml_doubles(const YAML::Node& node, const std::string& file, const std::string& field);
std::vector<int64_t> yaml_ints(const YAML::Node& node, const std::string& file, const std::string& field);
std::vector<std::string> yaml_strings(const YAML::Node& node, const std::string& file,
                                      const std::string& field);

// Formats a number so that YAML (and Python's yaml) reads back exactly the same double and sees a float, not
// an int or a string ("615.0", not "615"; "1.0e+10", not "1e+10"): %.17g plus ".0" where needed. A float32
// passed in comes back bit-exact after the read's double → float conversion.
std::string yaml_float(double value);

}  // namespace amt::io
