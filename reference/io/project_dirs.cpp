#include "reference/io/project_dirs.hpp"

#include <cstdlib>
#include <filesystem>

namespace amt::io {

std::vector<std::string> project_dirs(const std::string& env_var, const std::string& folder) {
  namespace fs = std::filesystem;
  std::vector<std::string> dirs;
  if (const char* env = std::getenv(env_var.c_str())) dirs.emplace_back(env);
  dirs.push_back(folder);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
      dirs.push_back((p / folder).string());
    }
  }
  return dirs;
}

}  // namespace amt::io
