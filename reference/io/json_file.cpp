#include "reference/io/json_file.hpp"

#include "reference/io/file_bytes.hpp"

namespace amt::io {

nlohmann::json load_json_file(const std::string& path) {
  const std::string text = read_file_bytes(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, "", std::string("not valid JSON: ") + e.what());
  }
}

}  // namespace amt::io
