// JSON files with errors that name the file and the field: the JSON twin of yaml_file.hpp, for the
// reports, replay files, ledgers and trainer state the tools read back.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "reference/core/error.hpp"

namespace amt::io {

// Parses a JSON file: amt::IoError when unreadable, amt::FormatError(path, "", "not valid JSON: ...") when
// not JSON.
nlohmann::json load_json_file(const std::string& path);

// The member `key` of object `j` as a T. FormatError(file, field) when `j` is not an object, lacks the key or
// holds another type; `field` is `where.key` (`key` alone when `where` is empty), e.g.
// "[0].modules[3].depth".
template <class T>
T json_field(const nlohmann::json& j, const std::string& key, const std::string& file,
             const std::string& where = "") {
  const std::string field = where.empty() ? key : where + "." + key;
  if (!j.is_object() || !j.contains(key)) throw FormatError(file, field, "missing");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(file, field, std::string("wrong type: ") + e.what());
  }
}

}  // namespace amt::io
