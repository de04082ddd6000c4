// amt_conformance dtypes: the observed dtype support of every op the model uses vs the declared file.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "conformance/cli/subcommand.hpp"
#include "conformance/lib/dtype_support.hpp"
#include "reference/core/error.hpp"

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) throw amt::IoError(path, "cannot write");
  out << text;
}

const amt::cli::Registration kDtypes{
    "dtypes",
    "The dtype support matrix: every op the model uses × fp16/bf16/fp32/fp64 × plain/autocast on this "
    "LibTorch "
    "(works, throws, silently wrong vs fp64), compared with conformance/data/dtype_support.json",
    [](CLI::App& app) -> std::function<int()> {
      auto declared = std::make_shared<std::string>();
      auto md = std::make_shared<std::string>();
      auto write_declared = std::make_shared<std::string>();
      app.add_option("--declared", *declared, "declared file (default: conformance/data/dtype_support.json)");
      app.add_option("--md", *md, "write the Markdown table here (docs/dtype-support.md)");
      app.add_option("--write-declared", *write_declared, "write what was observed as a declared file");
      return [declared, md, write_declared] {
        using namespace amt::conformance;
        const auto cells = observe_dtype_support();
        if (!md->empty()) write(*md, dtype_support_markdown(cells));
        if (!write_declared->empty()) write(*write_declared, dtype_support_json(cells).dump(2) + "\n");
        const std::string path = declared->empty() ? find_declared_dtype_support() : *declared;
        const auto mismatches = compare_dtype_support(cells, read_declared_dtype_support(path));
        int works = 0, throws = 0, wrong = 0;
        for (const auto& c : cells)
          (c.status == "works" ? works : c.status == "throws" ? throws : wrong) += 1;
        for (const auto& m : mismatches) std::cout << m.line() << "\n";
        std::cout << "dtypes: " << cells.size() << " cells (" << works << " work, " << throws << " throw, "
                  << wrong << " silently wrong); " << mismatches.size() << " differ from " << path << "\n";
        return mismatches.empty() ? 0 : 1;
      };
    }};

}  // namespace
