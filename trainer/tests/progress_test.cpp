// The progress display on a fake clock: ETA arithmetic, the plain-line throttle, the bar's redraw and
// clearing.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "trainer/progress.hpp"

namespace amt::trainer {
namespace {

struct FakeClock {
  double now = 100.0;
  Progress::Clock fn() {
    return [this] { return now; };
  }
};

ProgressState state(int64_t step, int64_t total = 100) {
  ProgressState s;
  s.epoch = 1;
  s.epochs = 2;
  s.step = step;
  s.total_steps = total;
  s.loss = 0.125;
  s.lr = 1e-4;
  s.images_per_s = 52.3;
  return s;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(FormatDuration, MinutesAndHours) {
  EXPECT_EQ(format_duration(0), "00:00");
  EXPECT_EQ(format_duration(187), "03:07");
  EXPECT_EQ(format_duration(59.6), "01:00");
  EXPECT_EQ(format_duration(3599), "59:59");
  EXPECT_EQ(format_duration(3600), "1:00:00");
  EXPECT_EQ(format_duration(3909), "1:05:09");
  EXPECT_EQ(format_duration(100 * 3600 + 61), "100:01:01");
  EXPECT_EQ(format_duration(-1), "--:--");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::infinity()), "--:--");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::quiet_NaN()), "--:--");
}

TEST(Progress, PlainLineHasEveryFieldAndNoBar) {
  std::ostringstream out;
  FakeClock clock;
  Progress p(out, false, 100, 10.0, clock.fn());
  ProgressState s = state(7);
  s.skipped_steps = 2;
  p.update(s);
  const std::string text = out.str();
  EXPECT_EQ(text, "epoch 1/2 step 7/100 loss 0.125 lr 1.00e-04 img/s 52.3 skipped 2 ETA --:--\n");
  EXPECT_FALSE(has(text, "\r"));
  EXPECT_FALSE(has(text, "["));
}

TEST(Progress, PlainLinesAreThrottledButTheLastStepIsAlwaysPrinted) {
  std::ostringstream out;
  FakeClock clock;
  Progress p(out, false, 95, 10.0, clock.fn());
  for (int64_t step = 1; step <= 95; ++step) {
    p.update(state(step, 95));
    clock.now += 1.0;
  }
  p.update(state(95, 95));  // the loop reporting the last step again must not print it twice
  p.finish();
  const auto lines = lines_of(out.str());
  // Steps 1, 11, ..., 91 by the clock, then 95 because it is the last.
  ASSERT_EQ(lines.size(), 11u) << out.str();
  EXPECT_TRUE(has(lines[0], "step 1/95"));
  EXPECT_TRUE(has(lines[1], "step 11/95"));
  EXPECT_TRUE(has(lines[9], "step 91/95"));
  EXPECT_TRUE(has(lines[10], "step 95/95"));
  EXPECT_TRUE(has(lines[10], "ETA 00:00"));
}

TEST(Progress, FinishPrintsTheStateTheThrottleHeldBack) {
  std::ostringstream out;
  FakeClock clock;
  Progress p(out, false, 100, 10.0, clock.fn());
  p.update(state(1));
  clock.now += 1;
  p.update(state(2));  // held back: one second after the last line
  ASSERT_EQ(lines_of(out.str()).size(), 1u);
  p.finish();
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(has(lines[1], "step 2/100"));
  p.finish();
  EXPECT_EQ(lines_of(out.str()).size(), 2u);  // idempotent
}

TEST(Progress, EtaIsRemainingStepsOverTheMeasuredRate) {
  std::ostringstream out;
  FakeClock clock;
  Progress p(out, false, 0, 0.0, clock.fn());  // total from the state; no throttle
  p.update(state(10, 110));
  EXPECT_TRUE(has(out.str(), "ETA --:--")) << "unknown after one update";
  clock.now += 20.0;
  p.update(state(20, 110));  // 10 steps in 20 s: 0.5 step/s, 90 steps left → 180 s
  EXPECT_TRUE(has(lines_of(out.str()).back(), "ETA 03:00")) << out.str();
  clock.now += 40.0;
  p.update(state(40, 110));  // 30 steps in 60 s, 70 left → 140 s
  EXPECT_TRUE(has(lines_of(out.str()).back(), "ETA 02:20")) << out.str();
}

TEST(Progress, EtaStaysUnknownWhileNoStepIsDone) {
  std::ostringstream out;
  FakeClock clock;
  Progress p(out, false, 100, 0.0, clock.fn());
  p.update(state(5));
  clock.now += 5;
  p.update(state(5));
  EXPECT_TRUE(has(lines_of(out.str()).back(), "ETA --:--"));
}

TEST(Progress, InteractiveRedrawsOneLineAndClearsItsTail) {
  std::ostringstream out;
  FakeClock clock;
  Progress p(out, true, 100, 10.0, clock.fn());
  p.update(state(25));
  std::string text = out.str();
  ASSERT_EQ(text.front(), '\r');
  EXPECT_FALSE(has(text, "\n"));
  EXPECT_TRUE(has(text, "[######------------------] epoch 1/2 step 25/100 loss 0.125")) << text;
  EXPECT_TRUE(has(text, "\x1b[K"));
  clock.now += 0.5;
  p.update(state(50));
  text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), 2);
  EXPECT_TRUE(has(text, "[############------------]"));
  EXPECT_TRUE(has(text, "ETA 00:01")) << "25 steps in 0.5 s, 50 left: 1 s";
  p.finish();
  EXPECT_EQ(out.str().back(), '\n');
}

TEST(Progress, InteractiveRedrawIsThrottledExceptTheLastStep) {
  std::ostringstream out;
  FakeClock clock;
  Progress p(out, true, 100, 10.0, clock.fn());
  for (int64_t step = 1; step <= 100; ++step) {
    p.update(state(step));
    clock.now += 0.01;
  }
  const std::string text = out.str();
  const auto redraws = std::count(text.begin(), text.end(), '\r');
  // One every 0.1 s of a 1 s run, plus the last step.
  EXPECT_GE(redraws, 10);
  EXPECT_LE(redraws, 12);
  EXPECT_TRUE(has(text, "[########################] epoch 1/2 step 100/100"));
}

TEST(Progress, MessageClearsTheBarAndRedrawsItBelow) {
  std::ostringstream out;
  FakeClock clock;
  Progress p(out, true, 100, 10.0, clock.fn());
  p.update(state(30));
  const size_t before = out.str().size();
  p.message("checkpoint saved");
  const std::string added = out.str().substr(before);
  EXPECT_EQ(added.rfind("\r\x1b[Kcheckpoint saved\n\r", 0), 0u) << added;
  EXPECT_TRUE(has(added, "step 30/100"));
  EXPECT_NE(added.back(), '\n');  // the bar is open again
}

TEST(Progress, PlainMessageIsJustALine) {
  std::ostringstream out;
  Progress p(out, false, 100);
  p.message("hello");
  EXPECT_EQ(out.str(), "hello\n");
}

TEST(Progress, DestructorEndsAnOpenBar) {
  std::ostringstream out;
  {
    Progress p(out, true, 100);
    p.update(state(3));
  }
  EXPECT_EQ(out.str().back(), '\n');
}

TEST(Progress, TotalFromTheConstructorWhenTheStateHasNone) {
  std::ostringstream out;
  FakeClock clock;
  Progress p(out, false, 40, 10.0, clock.fn());
  p.update(state(4, 0));
  EXPECT_TRUE(has(out.str(), "step 4/40"));
}

}  // namespace
}  // namespace amt::trainer
