#include "reference/io/yaml_file.hpp"

#include <cmath>
#include <cstdio>

#include "reference/core/error.hpp"
#include "reference/io/file_bytes.hpp"

namespace amt::io {
namespace {

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar().substr(0, 40) + "'";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

template <typename T>
T scalar_as(const YAML::Node& node, const std::string& file, const std::string& field, const char* what) {
  if (!node.IsScalar())
    throw FormatError(file, field, std::string("expected ") + what + ", got " + describe(node));
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    throw FormatError(file, field, std::string("expected ") + what + ", got " + describe(node));
  }
}

template <typename T>
std::vector<T> sequence_as(const YAML::Node& node, const std::string& file, const std::string& field,
                           T (*one)(const YAML::Node&, const std::string&, const std::string&)) {
  if (!node.IsSequence()) throw FormatError(file, field, "expected a sequence, got " + describe(node));
  std::vector<T> out;
  for (size_t i = 0; i < node.size(); ++i)
    out.push_back(one(node[i], file, field + "[" + std::to_string(i) + "]"));
  return out;
}

}  // namespace

YAML::Node parse_yaml(const std::string& text, const std::string& file) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw FormatError(file, "", "not valid YAML: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

YAML::Node load_yaml_file(const std::string& path) {
  return parse_yaml(read_file_bytes(path), path);
}

YAML::Node yaml_child(const YAML::Node& node, const std::string& key, const std::string& file,
                      const std::string& field) {
  if (!node.IsMap())
    throw FormatError(file, field, "expected a mapping holding '" + key + "', got " + describe(node));
  const YAML::Node child = node[key];
  if (!child.IsDefined()) throw FormatError(file, field, "missing key");
  return child;
}

double yaml_double(const YAML::Node& node, const std::string& file, const std::string& field) {
  const double v = scalar_as<double>(node, file, field, "a number");
  if (!std::isfinite(v)) throw FormatError(file, field, "expected a finite number, got " + describe(node));
  return v;
}

int64_t yaml_int(const YAML::Node& node, const std::string& file, const std::string& field) {
  return scalar_as<int64_t>(node, file, field, "an integer");
}

std::string yaml_string(const YAML::Node& node, const std::string& file, const std::string& field) {
  return scalar_as<std::string>(node, file, field, "a string");
}

std::vector<double> yaml_doubles(const YAML::Node& node, const std::string& file, const std::string& field) {
  return sequence_as<double>(node, file, field, yaml_double);
}
std::vector<int64_t> yaml_ints(const YAML::Node& node, const std::string& file, const std::string& field) {
  return sequence_as<int64_t>(node, file, field, yaml_int);
}
std::vector<std::string> yaml_strings(const YAML::Node& node, const std::string& file,
                                      const std::string& field) {
  return sequence_as<std::string>(node, file, field, yaml_string);
}

std::string yaml_float(double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  std::string s = buf;
  if (s.find_first_of("ni") != std::string::npos) return s;  // nan/inf: callers keep such values out of YAML
  // PyYAML (YAML 1.1) reads "1e+10" as a string: the mantissa needs a '.'.
  if (s.find('.') == std::string::npos) {
    const size_t e = s.find_first_of("eE");
    if (e == std::string::npos) {
      s += ".0";
    } else {
      s.insert(e, ".0");
    }
  }
  return s;
}

}  // namespace amt::io
