// The run report: one Markdown page per training run (warnings, summary against the mean-pose baseline, the
// conformance gate, final metrics, the curves, the configuration and notes).
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace amt::trainer {

struct RunReport {
  std::string title;
  std::string command_line;
  std::vector<std::pair<std::string, std::string>> config;  // key, value rows
  std::string gate_verdict;                                 // "passed", "failed" or "skipped"
  std::string gate_summary;                                 // a Markdown paragraph
  std::vector<std::string>
      warnings;  // shown first and prominently (the gate was skipped, steps were dropped)
  std::vector<std::pair<std::string, double>> final_metrics;
  double baseline_mpjpe_mm = std::numeric_limits<double>::quiet_NaN();  // the mean-pose predictor's MPJPE
  double final_mpjpe_mm = std::numeric_limits<double>::quiet_NaN();
  std::string curves_png;  // path relative to the report, embedded as an image ("" for none)
  // The best checkpoint's predictions on a few validation images (relative path, "" for none) and its step.
  std::string predictions_png;
  int64_t predictions_step = -1;
  double wall_time_s = 0.0;
  int64_t steps = 0, skipped_steps = 0;
  double images_per_s = 0.0;
  std::vector<std::string> notes;
};

// The report as Markdown. Table cells are escaped ('|', newlines) so a value cannot break its table.
// amt::ValueError for a gate verdict other than passed, failed or skipped.
std::string render_run_report(const RunReport& r);

// Writes render_run_report(r) to `path` atomically; amt::IoError naming the path when it cannot.
void write_run_report(const std::string& path, const RunReport& r);

}  // namespace amt::trainer
