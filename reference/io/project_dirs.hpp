// Where the tools find the project's own folders (configs/, golden/) at run time: $ENV_VAR if set, ./FOLDER,
// then FOLDER in each folder above the running executable (the source tree when the build folder sits in it).
#pragma once
#include <string>
#include <vector>

namespace amt::io {

// The candidate folders, in search order (they need not exist).
std::vector<std::string> project_dirs(const std::string& env_var, const std::string& folder);

}  // namespace amt::io
