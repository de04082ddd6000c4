// amt_conformance inspect FILE.safetensors: lists metadata and tensors (name, dtype, shape, bytes) from the
// header alone, so it is instant even on a large checkpoint; malformed files report the FormatError.
#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "conformance/cli/subcommand.hpp"
#include "reference/io/safetensors.hpp"

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int inspect(const std::string& path, bool no_metadata, bool sort_by_name) {
  std::map<std::string, std::string> metadata;
  auto entries = amt::io::read_safetensors_header(path, &metadata);
  if (sort_by_name)
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });

  uint64_t bytes = 0;
  for (const auto& e : entries) bytes += e.end - e.begin;
  std::cout << path << ": " << entries.size() << " tensors, " << bytes << " data bytes\n";

  if (!no_metadata && !metadata.empty()) {
    std::cout << "metadata:\n";
    for (const auto& [key, value] : metadata) std::cout << "  " << key << " = " << value << "\n";
  }

  size_t name_width = 4, dtype_width = 5, shape_width = 5;
  std::vector<std::string> shapes;
  for (const auto& e : entries) {
    shapes.push_back(shape_text(e.shape));
    name_width = std::max(name_width, e.name.size());
    dtype_width = std::max(dtype_width, amt::io::safetensors_dtype_name(e.dtype).size());
    shape_width = std::max(shape_width, shapes.back().size());
  }
  auto pad = [](const std::string& s, size_t w) { return s + std::string(w - std::min(w, s.size()), ' '); };
  std::cout << pad("name", name_width) << "  " << pad("dtype", dtype_width) << "  "
            << pad("shape", shape_width) << "  bytes\n";
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    std::cout << pad(e.name, name_width) << "  " << pad(amt::io::safetensors_dtype_name(e.dtype), dtype_width)
              << "  " << pad(shapes[i], shape_width) << "  " << (e.end - e.begin) << "\n";
  }
  return 0;
}

struct Options {
  std::string path;
  bool no_metadata = false;
  bool sort_by_name = false;
};

amt::cli::Registration reg{
    "inspect", "List the metadata and tensors (name, dtype, shape, bytes) of a .safetensors file",
    [](CLI::App& app) -> std::function<int()> {
      auto opts = std::make_shared<Options>();
      app.add_option("file", opts->path, "the .safetensors file")->required();
      app.add_flag("--no-metadata", opts->no_metadata, "do not print the __metadata__ entries");
      app.add_flag("--sort", opts->sort_by_name, "list tensors by name instead of file order");
      return [opts] { return inspect(opts->path, opts->no_metadata, opts->sort_by_name); };
    }};

}  // namespace
