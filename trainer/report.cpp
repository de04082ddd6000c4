#include "trainer/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

#include "reference/core/error.hpp"
#include "reference/io/file_bytes.hpp"
#include "trainer/progress.hpp"

namespace amt::trainer {
namespace {

std::string number(double v, const char* format = "%.6g") {
  if (!std::isfinite(v)) return "n/a";
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A table cell: a '|' would end the cell and a newline the row.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += "<br>";
    } else if (c != '\r') {
      out += c;
    }
  }
  return out;
}

// A fenced code block whose fence is longer than any backtick run in `text`, so the text cannot close it.
std::string code_block(const std::string& text) {
  size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(std::max<size_t>(3, longest + 1), '`');
  return fence + "sh\n" + text + "\n" + fence + "\n";
}

// Text inside a block quote: each of its lines must start with "> " to stay in the quote.
std::string quoted(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '\n' ? std::string("\n> ") : std::string(1, c);
  return out;
}

// A link target; CommonMark takes one with spaces or parentheses only between angle brackets.
std::string link_target(const std::string& path) {
  return path.find_first_of(" ()") == std::string::npos ? path : "<" + path + ">";
}

std::string mpjpe_line(const RunReport& r) {
  std::string line = "- **Final MPJPE:** " + number(r.final_mpjpe_mm, "%.2f") + " mm";
  line += " (mean-pose baseline " + number(r.baseline_mpjpe_mm, "%.2f") + " mm";
  if (std::isfinite(r.final_mpjpe_mm) && std::isfinite(r.baseline_mpjpe_mm) && r.baseline_mpjpe_mm > 0) {
    line += "; " + number(100.0 * r.final_mpjpe_mm / r.baseline_mpjpe_mm, "%.1f") + "% of the baseline";
  }
  return line + ")\n";
}

}  // namespace

std::string render_run_report(const RunReport& r) {
  if (r.gate_verdict != "passed" && r.gate_verdict != "failed" && r.gate_verdict != "skipped") {
    throw ValueError("render_run_report: gate verdict \"" + r.gate_verdict +
                     "\" is not one of passed, failed, skipped");
  }
  std::ostringstream md;
  md << "# " << (r.title.empty() ? std::string("Training run") : r.title) << "\n\n";

  // Warnings come before anything else, so a reader cannot take the numbers below at face value unawares.
  for (const auto& w : r.warnings) md << "> **Warning:** " << quoted(w) << "\n\n";

  md << "## Summary\n\n";
  md << mpjpe_line(r);
  md << "- **Conformance gate:** " << r.gate_verdict << "\n";
  md << "- **Optimizer steps:** " << r.steps;
  if (r.skipped_steps > 0) md << " (" << r.skipped_steps << " skipped for non-finite values)";
  md << "\n";
  md << "- **Wall time:** " << format_duration(r.wall_time_s) << "\n";
  md << "- **Throughput:** " << number(r.images_per_s, "%.1f") << " images/s\n";
  if (!r.command_line.empty()) md << "\nCommand:\n\n" << code_block(r.command_line);
  md << "\n";

  md << "## Conformance gate\n\n**" << r.gate_verdict << "**";
  if (r.gate_verdict == "skipped") md << " (the model was not checked against the precision budgets)";
  md << "\n\n";
  if (!r.gate_summary.empty()) md << r.gate_summary << "\n\n";

  md << "## Final metrics\n\n";
  if (r.final_metrics.empty()) {
    md << "No metrics were recorded.\n\n";
  } else {
    md << "| metric | value |\n|---|---:|\n";
    for (const auto& [name, value] : r.final_metrics)
      md << "| " << cell(name) << " | " << number(value) << " |\n";
    md << "\n";
  }

  if (!r.curves_png.empty()) {
    md << "## Curves\n\n![training curves](" << link_target(r.curves_png) << ")\n\n";
  }
  if (!r.predictions_png.empty()) {
    md << "## Predictions\n\nThe best checkpoint (step " << r.predictions_step
       << ", EMA weights) on the first validation images, each the model's input image: predicted skeleton "
          "green, ground truth red.\n\n![predictions]("
       << link_target(r.predictions_png) << ")\n\n";
  }

  md << "## Configuration\n\n";
  if (r.config.empty()) {
    md << "No configuration was recorded.\n\n";
  } else {
    md << "| key | value |\n|---|---|\n";
    for (const auto& [key, value] : r.config) md << "| " << cell(key) << " | " << cell(value) << " |\n";
    md << "\n";
  }

  if (!r.notes.empty()) {
    md << "## Notes\n\n";
    for (const auto& n : r.notes) md << "- " << n << "\n";
    md << "\n";
  }
  std::string text = md.str();
  while (text.size() > 1 && text[text.size() - 1] == '\n' && text[text.size() - 2] == '\n') text.pop_back();
  return text;
}

void write_run_report(const std::string& path, const RunReport& r) {
  io::write_file_atomic(path, render_run_report(r));
}

}  // namespace amt::trainer
