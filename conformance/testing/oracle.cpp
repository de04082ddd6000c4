#include "conformance/testing/oracle.hpp"

#include <cstdlib>
#include <filesystem>

namespace amt::testing {

std::string oracle_dir() {
  if (const char* env = std::getenv("AMT_ORACLE_DIR"); env && *env) return env;
  return AMT_DEFAULT_ORACLE_DIR;
}

bool in_ci() {
  const char* env = std::getenv("CI");
  if (!env || !*env) return false;
  const std::string v = env;
  return v != "0" && v != "false" && v != "FALSE";
}

std::optional<std::string> oracle_file(const std::string& name) {
  const std::filesystem::path p = std::filesystem::path(oracle_dir()) / name;
  if (std::filesystem::is_regular_file(p)) return p.string();
  return std::nullopt;
}

std::string source_dir() {
  if (const char* env = std::getenv("AMT_SOURCE_DIR"); env && *env) return env;
  return AMT_DEFAULT_SOURCE_DIR;
}

}  // namespace amt::testing
