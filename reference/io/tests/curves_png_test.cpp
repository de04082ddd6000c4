// The curves PNG: decodes at the expected size, draws each series in its colour, says "no data" for an empty
// panel, and reports unwritable paths and malformed input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "conformance/testing/errors.hpp"
#include "reference/core/error.hpp"
#include "reference/io/curves_png.hpp"
#include "conformance/testing/scratch_dir.hpp"

namespace amt::io {
namespace {

namespace fs = std::filesystem;

// Pixels of exactly `colour` (B, G, R) in `roi` of `image`.
int count_colour(const cv::Mat& image, const std::array<uint8_t, 3>& colour, cv::Rect roi = {}) {
  if (roi.area() == 0) roi = cv::Rect(0, 0, image.cols, image.rows);
  int n = 0;
  for (int y = roi.y; y < roi.y + roi.height; ++y) {
    for (int x = roi.x; x < roi.x + roi.width; ++x) {
      const auto& p = image.at<cv::Vec3b>(y, x);
      n += p[0] == colour[0] && p[1] == colour[1] && p[2] == colour[2];
    }
  }
  return n;
}

// Pixels within `tolerance` (per channel) of `colour`: anti-aliased curves blend at their edges.
int count_near(const cv::Mat& image, const std::array<uint8_t, 3>& colour, cv::Rect roi, int tolerance = 40) {
  int n = 0;
  for (int y = roi.y; y < roi.y + roi.height; ++y) {
    for (int x = roi.x; x < roi.x + roi.width; ++x) {
      const auto& p = image.at<cv::Vec3b>(y, x);
      bool near = true;
      for (int c = 0; c < 3; ++c) near = near && std::abs(int(p[c]) - int(colour[c])) <= tolerance;
      n += near;
    }
  }
  return n;
}

Series line(const std::string& name, int n, double slope, double offset) {
  Series s{name, {}, {}};
  for (int i = 0; i < n; ++i) {
    s.x.push_back(i * 10.0);
    s.y.push_back(offset + slope * i);
  }
  return s;
}

TEST(SeriesColour, TheFirstTenAreDistinct) {
  for (size_t i = 0; i < 10; ++i) {
    for (size_t j = i + 1; j < 10; ++j) EXPECT_NE(series_colour(i), series_colour(j)) << i << " " << j;
  }
  EXPECT_EQ(series_colour(10), series_colour(0));
}

TEST(WriteCurvesPng, StacksPanelsAndDrawsEachSeriesInItsColour) {
  ScratchDir dir;
  const std::string path = dir.file("curves.png");
  // Falling lines: they cross the left half of the plot, away from the legend at the top right.
  Panel loss{"loss", "step", "loss", {line("train", 50, -1.0, 60.0), line("val", 50, -0.5, 40.0)}, false};
  Panel lr{"learning rate", "step", "lr", {line("lr", 50, 0.0, 1e-4)}, true};
  write_curves_png(path, {loss, lr}, 640, 360);

  const cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty());
  EXPECT_EQ(image.cols, 640);
  EXPECT_EQ(image.rows, 720);
  double lo = 0, hi = 0;
  cv::minMaxLoc(image.reshape(1), &lo, &hi);
  EXPECT_LT(lo, hi) << "a single colour";

  // Both series of the first panel appear in their own colours, in its left half (the curves themselves,
  // not only the legend swatches), and the first panel does not use the third colour.
  const cv::Rect left_half_top(80, 40, 260, 280);
  EXPECT_GT(count_near(image, series_colour(0), left_half_top), 50);
  EXPECT_GT(count_near(image, series_colour(1), left_half_top), 50);
  EXPECT_GT(count_colour(image, series_colour(0)), 0);
  EXPECT_EQ(count_colour(image, series_colour(2), cv::Rect(0, 0, 640, 360)), 0);
  // The second panel's only series is drawn in the first colour, inside the second panel.
  EXPECT_GT(count_colour(image, series_colour(0), cv::Rect(0, 360, 640, 360)), 0);
  // Nothing but the PNG is left in the folder (no temporary file).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(WriteCurvesPng, NonFinitePointsAreSkipped) {
  ScratchDir dir;
  const std::string path = dir.file("curves.png");
  Series s = line("loss", 20, 1.0, 1.0);
  s.y[3] = std::numeric_limits<double>::quiet_NaN();
  s.y[7] = std::numeric_limits<double>::infinity();
  s.x[9] = -std::numeric_limits<double>::infinity();
  Series log_bad = line("nonpositive", 5, -1.0, 1.0);  // 1, 0, -1, ...: only the first fits a log axis
  write_curves_png(path, {Panel{"p", "x", "y", {s}, false}, Panel{"q", "x", "y", {log_bad}, true}});
  const cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty());
  EXPECT_GT(count_near(image, series_colour(0), cv::Rect(80, 40, 500, 270)), 50);
}

TEST(WriteCurvesPng, APanelWithoutFinitePointsSaysNoDataAndDrawsNoLegend) {
  ScratchDir dir;
  const std::string with_data = dir.file("a.png"), without = dir.file("b.png");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  write_curves_png(without, {Panel{"empty", "step", "loss", {Series{"loss", {1, 2}, {nan, nan}}}, false}});
  write_curves_png(with_data, {Panel{"full", "step", "loss", {line("loss", 5, 1, 1)}, false}});
  const cv::Mat a = cv::imread(with_data), b = cv::imread(without);
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_GT(count_colour(a, series_colour(0)), 0);
  EXPECT_EQ(count_colour(b, series_colour(0)), 0);
  // "no data" is written in the middle of the plot area: dark pixels there.
  const cv::Mat centre = b(cv::Rect(260, 160, 140, 60));
  double lo = 255;
  cv::minMaxLoc(centre.reshape(1), &lo);
  EXPECT_LT(lo, 128);
}

TEST(WriteCurvesPng, AFlatSeriesAndASinglePointStillDraw) {
  ScratchDir dir;
  const std::string path = dir.file("c.png");
  // A constant series has a zero-height range; it is widened so the line runs through the middle.
  write_curves_png(path, {Panel{"flat", "", "", {line("flat", 10, 0.0, 5.0)}, false},
                          Panel{"one point", "", "", {Series{"one", {3}, {4}}}, false}});
  const cv::Mat image = cv::imread(path);
  ASSERT_FALSE(image.empty());
  EXPECT_GT(count_near(image, series_colour(0), cv::Rect(80, 150, 300, 60)), 50);
  // The lone point is a dot in the middle of the second panel's plot area.
  EXPECT_GT(count_near(image, series_colour(0), cv::Rect(320, 360 + 150, 60, 60)), 5);
}

TEST(WriteCurvesPng, RejectsMalformedInput) {
  ScratchDir dir;
  const std::string path = dir.file("d.png");
  EXPECT_THROW(write_curves_png(path, {}), ValueError);
  EXPECT_THROW(write_curves_png(path, {Panel{"p", "", "", {Series{"s", {1, 2}, {1}}}, false}}), ValueError);
  EXPECT_THROW(write_curves_png(path, {Panel{"p", "", "", {}, false}}, 100, 100), ValueError);
  EXPECT_FALSE(fs::exists(path));
}

TEST(WriteCurvesPng, AnUnwritablePathIsAnIoErrorNamingIt) {
  ScratchDir dir;
  const std::string path = dir.file("missing_folder/curves.png");
  const std::string msg = amt::testing::thrown_message<IoError>([&] {
    write_curves_png(path, {Panel{"p", "", "", {line("s", 3, 1, 1)}, false}});
  });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

}  // namespace
}  // namespace amt::io
