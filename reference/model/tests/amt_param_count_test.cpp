// docs/model.md's parameter-count table is computed by this test: it builds each config and compares the
// count with the table. large and upstream (≈ 0.3 B parameters each) are built only when
// AMT_PARAM_COUNT_ALL=1 (they take a few GB and ~10 s); the output lines regenerate the table.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "reference/model/tests/amt_test_util.hpp"

namespace amt::model::testing {
namespace {

std::map<std::string, int64_t> docs_table() {
  std::ifstream in(::amt::testing::source_dir() + "/docs/model.md");
  std::map<std::string, int64_t> t;
  std::string line;
  const std::regex row(R"(^\|\s*`(\w+)`\s*\|\s*([\d,]+)\s*\|)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, row)) {
      t[m[1]] = std::stoll(std::regex_replace(m[2].str(), std::regex(","), ""));
    }
  }
  return t;
}

TEST(AmtParamCount, DocsTableMatchesTheModel) {
  const auto table = docs_table();
  const char* all_env = std::getenv("AMT_PARAM_COUNT_ALL");
  const bool all = all_env && std::string(all_env) == "1";
  for (const auto& name : amt_config_names()) {
    ASSERT_TRUE(table.count(name)) << "docs/model.md has no row for `" << name << "`";
    if (!all && (name == "large" || name == "upstream")) continue;
    const AmtConfig cfg = load_amt_config_file(::amt::testing::source_dir() + "/configs/" + name + ".yaml");
    AmtModel model(cfg, 0);
    const int64_t total = count_parameters(*model), backbone = count_parameters(*model->encoder->backbone);
    std::cout << "| `" << name << "` | " << total << " | " << backbone << " | " << total - backbone << " |\n";
    std::cout << "  " << name << " by module:";
    for (const auto& child : model->named_children()) {
      std::cout << " " << child.key() << " " << count_parameters(*child.value());
    }
    std::cout << "\n";
    EXPECT_EQ(table.at(name), total) << name;
  }
}

}  // namespace
}  // namespace amt::model::testing
