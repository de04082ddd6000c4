// The run report's Markdown: section order, the baseline ratio, escaping, and the atomic write.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "conformance/testing/errors.hpp"
#include "reference/core/error.hpp"
#include "trainer/report.hpp"

namespace amt::trainer {
namespace {

namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

RunReport sample() {
  RunReport r;
  r.title = "tiny on synthetic";
  r.command_line = "amt_ref_train --config tiny --epochs 3";
  r.config = {{"model", "tiny"}, {"batch_size", "8"}, {"weird|key", "two\nlines"}};
  r.gate_verdict = "passed";
  r.gate_summary = "All 42 properties within budget.";
  r.final_metrics = {{"val_mpjpe_mm", 12.5},
                     {"train_loss", 0.0123456789},
                     {"val_nan", std::numeric_limits<double>::quiet_NaN()}};
  r.baseline_mpjpe_mm = 50.0;
  r.final_mpjpe_mm = 12.5;
  r.curves_png = "curves.png";
  r.wall_time_s = 3909;
  r.steps = 1200;
  r.skipped_steps = 3;
  r.images_per_s = 88.04;
  r.notes = {"trained on synthetic data"};
  return r;
}

TEST(RunReport, HasEverySectionInOrder) {
  RunReport r = sample();
  r.warnings = {"the conformance gate was skipped (--skip-gate)"};
  const std::string md = render_run_report(r);
  const std::vector<std::string> order = {
      "# tiny on synthetic", "> **Warning:** the conformance gate was skipped (--skip-gate)",
      "## Summary",          "## Conformance gate",
      "## Final metrics",    "## Curves",
      "## Configuration",    "## Notes"};
  size_t at = 0;
  for (const auto& part : order) {
    const size_t found = md.find(part, at);
    ASSERT_NE(found, std::string::npos) << "missing or out of order: " << part << "\n" << md;
    at = found + part.size();
  }
  EXPECT_EQ(md.back(), '\n');
  EXPECT_NE(md.substr(md.size() - 2), "\n\n");
}

TEST(RunReport, SummaryComparesWithTheMeanPoseBaseline) {
  const std::string md = render_run_report(sample());
  EXPECT_TRUE(has(md, "12.50 mm (mean-pose baseline 50.00 mm; 25.0% of the baseline)")) << md;
  EXPECT_TRUE(has(md, "1200 (3 skipped"));
  EXPECT_TRUE(has(md, "1:05:09"));
  EXPECT_TRUE(has(md, "88.0 images/s"));
  EXPECT_TRUE(has(md, "```sh\namt_ref_train --config tiny --epochs 3\n```"));
}

TEST(RunReport, WithoutAMeasuredMpjpeThereIsNoRatio) {
  RunReport r = sample();
  r.final_mpjpe_mm = std::numeric_limits<double>::quiet_NaN();
  const std::string md = render_run_report(r);
  EXPECT_TRUE(has(md, "n/a mm (mean-pose baseline 50.00 mm)")) << md;
  EXPECT_FALSE(has(md, "% of the baseline"));
}

TEST(RunReport, TablesEscapeTheirCells) {
  const std::string md = render_run_report(sample());
  EXPECT_TRUE(has(md, "| model | tiny |"));
  EXPECT_TRUE(has(md, "| weird\\|key | two<br>lines |")) << md;
  EXPECT_TRUE(has(md, "| val_mpjpe_mm | 12.5 |"));
  EXPECT_TRUE(has(md, "| train_loss | 0.0123457 |"));
  EXPECT_TRUE(has(md, "| val_nan | n/a |"));
  EXPECT_TRUE(has(md, "![training curves](curves.png)"));
}

TEST(RunReport, GateVerdictAndSummary) {
  RunReport r = sample();
  r.gate_verdict = "skipped";
  r.gate_summary = "";
  const std::string md = render_run_report(r);
  EXPECT_TRUE(has(md, "**skipped** (the model was not checked"));
  r.gate_verdict = "maybe";
  const std::string msg = amt::testing::thrown_message<ValueError>([&] { render_run_report(r); });
  EXPECT_TRUE(has(msg, "\"maybe\"")) << msg;
}

TEST(RunReport, OptionalSectionsAreLeftOutOrSayWhatIsMissing) {
  RunReport r;
  r.gate_verdict = "failed";
  const std::string md = render_run_report(r);
  EXPECT_FALSE(has(md, "## Curves"));
  EXPECT_FALSE(has(md, "## Notes"));
  EXPECT_FALSE(has(md, "Warning"));
  EXPECT_TRUE(has(md, "No metrics were recorded."));
  EXPECT_TRUE(has(md, "No configuration was recorded."));
}

TEST(RunReport, ABacktickInTheCommandLineCannotCloseItsBlock) {
  RunReport r = sample();
  r.command_line = "run ```x``` --a";
  EXPECT_TRUE(has(render_run_report(r), "````sh\nrun ```x``` --a\n````"));
}

TEST(RunReport, AMultiLineWarningStaysInItsQuote) {
  RunReport r = sample();
  r.warnings = {"first\nsecond"};
  EXPECT_TRUE(has(render_run_report(r), "> **Warning:** first\n> second\n"));
}

TEST(WriteRunReport, WritesTheRenderedTextAndNamesAnUnwritablePath) {
  const fs::path dir = fs::temp_directory_path() / ("amt_trainer_report_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "report.md").string();
  write_run_report(path, sample());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), render_run_report(sample()));
  const std::string bad = (dir / "no_such_folder" / "report.md").string();
  const std::string msg = amt::testing::thrown_message<IoError>([&] { write_run_report(bad, sample()); });
  EXPECT_TRUE(has(msg, bad)) << msg;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace amt::trainer
