// The training progress display: a redrawn one-line bar on a terminal, throttled plain lines in a log file.
//
//   interactive:  \r[#########---------------] epoch 1/3 step 120/1000 loss 0.1234 lr 1.00e-04 img/s 52.3 ETA
//   03:07 plain:        epoch 1/3 step 120/1000 loss 0.1234 lr 1.00e-04 img/s 52.3 ETA 03:07
//
// This is the only library class that writes text, and it writes only to the stream it is given. The clock is
// injectable so that the ETA and the throttling can be tested without sleeping.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <ostream>
#include <string>

namespace amt::trainer {

struct ProgressState {
  int64_t epoch = 0, epochs = 0;
  int64_t step = 0;         // optimizer steps done
  int64_t total_steps = 0;  // 0: use the total given to Progress
  double loss = std::numeric_limits<double>::quiet_NaN();
  double lr = 0.0;
  double images_per_s = 0.0;
  int64_t skipped_steps = 0;  // steps dropped for a non-finite loss or gradient (shown only when > 0)
};

// "mm:ss" under an hour ("03:07"), "h:mm:ss" from an hour on ("1:05:09"); rounded to the nearest second.
// Negative or non-finite durations give "--:--".
std::string format_duration(double seconds);

class Progress {
 public:
  // Seconds on any monotonic scale; only differences are used.
  using Clock = std::function<double()>;

  // `interactive`: redraw one bar line with '\r' (pass stderr_is_terminal() when `out` is std::cerr).
  // Otherwise plain lines, at most one every `plain_interval_s` seconds plus always the last step.
  // `clock` defaults to std::chrono::steady_clock.
  Progress(std::ostream& out, bool interactive, int64_t total_steps, double plain_interval_s = 10.0,
           Clock clock = {});
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // Ends a bar still open (an exception unwinding the loop would otherwise print its message on the bar
  // line).
  ~Progress();

  // True when stderr is a terminal that understands '\r' and the erase-line escape (TERM set, not "dumb").
  static bool stderr_is_terminal();

  void update(const ProgressState& s);
  // Prints `text` as a line of its own; on a terminal the bar is cleared first and redrawn below it.
  void message(const std::string& text);
  // Ends the bar line (interactive) or prints the last state if the throttle held it back (plain).
  // Idempotent; a later update() starts a new bar.
  void finish();

  // The text of the line for `s` (without '\r' or escapes): the bar only when interactive. For tests and
  // logs.
  std::string render(const ProgressState& s) const;

 private:
  int64_t total_of(const ProgressState& s) const { return s.total_steps > 0 ? s.total_steps : total_steps_; }
  std::string eta_text(const ProgressState& s) const;
  void show(const ProgressState& s);

  std::ostream& out_;
  bool interactive_;
  int64_t total_steps_;
  double plain_interval_s_;
  Clock clock_;

  // The ETA's rate is measured from the first update (after the first step), so start-up and the first
  // step's one-off costs (allocation, autotuning) do not inflate it.
  std::optional<double> first_time_;
  int64_t first_step_ = 0;
  double now_ = 0.0;  // the clock at the latest update

  std::optional<ProgressState> last_;  // the latest state seen
  bool last_shown_ = false;            // whether `last_` has been written out
  std::optional<int64_t> shown_step_;  // the step of the line written last
  std::optional<double> last_show_time_;
  bool bar_open_ = false;  // a bar line is on screen without its newline
};

}  // namespace amt::trainer
