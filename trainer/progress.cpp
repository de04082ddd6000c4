#include "trainer/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace amt::trainer {
namespace {

constexpr int kBarWidth = 24;
// A terminal redraw per step would make the terminal the bottleneck of a fast loop (and flicker); ten
// redraws a second is as fast as anyone reads.
constexpr double kMinRedrawS = 0.1;
// ANSI "erase to end of line": a shorter line must not leave the tail of the previous one on screen.
constexpr const char* kEraseLine = "\x1b[K";

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string printf_string(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  // Beyond ~11 000 years the integer conversion would overflow; such an ETA means "unknown" anyway.
  if (seconds > 3.6e14) return "--:--";
  const auto total = static_cast<int64_t>(std::llround(seconds));
  const int64_t h = total / 3600, m = total / 60 % 60, s = total % 60;
  char buf[48];
  if (h > 0) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(h), static_cast<long long>(m),
                  static_cast<long long>(s));
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(m), static_cast<long long>(s));
  }
  return buf;
}

Progress::Progress(std::ostream& out, bool interactive, int64_t total_steps, double plain_interval_s,
                   Clock clock)
    : out_(out),
      interactive_(interactive),
      total_steps_(total_steps),
      plain_interval_s_(plain_interval_s),
      clock_(clock ? std::move(clock) : Clock(steady_seconds)) {}

Progress::~Progress() {
  try {
    finish();
  } catch (...) {
    // A destructor must not throw; a stream that failed here has nothing more to show.
  }
}

bool Progress::stderr_is_terminal() {
  if (::isatty(::fileno(stderr)) != 1) return false;
  // Without TERM nothing says the terminal understands the erase-line escape.
  const char* term = std::getenv("TERM");
  return term != nullptr && *term != '\0' && std::strcmp(term, "dumb") != 0;
}

std::string Progress::eta_text(const ProgressState& s) const {
  const int64_t total = total_of(s);
  if (total > 0 && s.step >= total) return format_duration(0.0);
  if (!first_time_ || total <= 0) return "--:--";
  const double elapsed = now_ - *first_time_;
  const int64_t done = s.step - first_step_;
  if (elapsed <= 0 || done <= 0) return "--:--";
  const double steps_per_s = static_cast<double>(done) / elapsed;
  return format_duration(static_cast<double>(total - s.step) / steps_per_s);
}

std::string Progress::render(const ProgressState& s) const {
  const int64_t total = total_of(s);
  std::string line;
  if (interactive_) {
    int filled = 0;
    if (total > 0) {
      const double frac = std::clamp(static_cast<double>(s.step) / static_cast<double>(total), 0.0, 1.0);
      filled = static_cast<int>(frac * kBarWidth);
    }
    line += "[" + std::string(filled, '#') + std::string(kBarWidth - filled, '-') + "] ";
  }
  line += "epoch " + std::to_string(s.epoch) + "/" + std::to_string(s.epochs);
  line += " step " + std::to_string(s.step) + "/" + (total > 0 ? std::to_string(total) : std::string("?"));
  line += " loss " + printf_string("%.4g", s.loss);
  line += " lr " + printf_string("%.2e", s.lr);
  line += " img/s " + printf_string("%.1f", s.images_per_s);
  if (s.skipped_steps > 0) line += " skipped " + std::to_string(s.skipped_steps);
  line += " ETA " + eta_text(s);
  return line;
}

void Progress::show(const ProgressState& s) {
  if (interactive_) {
    out_ << '\r' << render(s) << kEraseLine << std::flush;
    bar_open_ = true;
  } else {
    out_ << render(s) << '\n' << std::flush;
  }
  last_shown_ = true;
  shown_step_ = s.step;
  last_show_time_ = now_;
}

void Progress::update(const ProgressState& s) {
  now_ = clock_();
  if (!first_time_) {
    first_time_ = now_;
    first_step_ = s.step;
  }
  last_ = s;
  last_shown_ = false;
  const int64_t total = total_of(s);
  // The last step is always shown, once: the loop may report it twice (after the step and after evaluation).
  const bool final_step = total > 0 && s.step >= total && shown_step_ != s.step;
  const double interval = interactive_ ? kMinRedrawS : plain_interval_s_;
  const bool due = !last_show_time_ || now_ - *last_show_time_ >= interval;
  if (due || final_step) show(s);
}

void Progress::message(const std::string& text) {
  if (interactive_ && bar_open_) {
    out_ << '\r' << kEraseLine << text << '\n';
    if (last_) {
      // Redraw without resetting the throttle: the message is not a progress update.
      out_ << '\r' << render(*last_) << kEraseLine;
    }
    out_ << std::flush;
    return;
  }
  out_ << text << '\n' << std::flush;
}

void Progress::finish() {
  // A plain log already has a line for this step; a terminal bar is redrawn with the latest values.
  if (last_ && !last_shown_ && (interactive_ || shown_step_ != last_->step)) show(*last_);
  if (bar_open_) out_ << '\n';
  bar_open_ = false;
  out_ << std::flush;
  // The next update() starts a new bar, drawn at once.
  last_show_time_.reset();
}

}  // namespace amt::trainer
