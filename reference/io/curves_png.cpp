#include "reference/io/curves_png.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "reference/core/error.hpp"
#include "reference/io/file_bytes.hpp"

namespace amt::io {
namespace {

// Tableau 10, as BGR: distinct on white and for the common colour-vision deficiencies.
constexpr std::array<std::array<uint8_t, 3>, 10> kPalette = {{{180, 119, 31},
                                                              {14, 127, 255},
                                                              {44, 160, 44},
                                                              {40, 39, 214},
                                                              {189, 103, 148},
                                                              {75, 86, 140},
                                                              {194, 119, 227},
                                                              {127, 127, 127},
                                                              {34, 189, 188},
                                                              {207, 190, 23}}};

const cv::Scalar kBackground(255, 255, 255);
const cv::Scalar kText(40, 40, 40);
const cv::Scalar kAxis(90, 90, 90);
const cv::Scalar kGrid(225, 225, 225);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kFontScale = 0.4;
constexpr double kTitleScale = 0.5;
constexpr int kTicks = 5;  // tick marks per axis, both ends included

// Room around the plot area for the title (top), tick labels and the y label (left), x label (bottom).
constexpr int kLeft = 72, kRight = 16, kTop = 40, kBottom = 44;

cv::Scalar to_scalar(const std::array<uint8_t, 3>& c) {
  return cv::Scalar(c[0], c[1], c[2]);
}

std::string tick_label(double v) {
  char buf[32];
  // Steps and epochs are whole numbers, and from 100 on a fraction says nothing: print them whole rather
  // than as 2.25e+03.
  if (std::abs(v) < 1e7 && (std::abs(v) >= 100 || v == std::round(v))) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  }
  return buf;
}

int text_width(const std::string& text, double scale) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, scale, 1, &baseline).width;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  bool empty() const { return !(lo <= hi); }
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  // A single value would make a zero-width axis: widen it so the points sit in the middle.
  void widen_if_flat() {
    if (hi > lo) return;
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
};

// A point's plotted y: log10(y) on a log axis. NaN for a point that cannot be plotted.
double plotted_y(double y, bool log_y) {
  if (!std::isfinite(y)) return std::numeric_limits<double>::quiet_NaN();
  if (log_y) return y > 0 ? std::log10(y) : std::numeric_limits<double>::quiet_NaN();
  return y;
}

void draw_panel(cv::Mat& image, const cv::Rect& area, const Panel& panel) {
  const int plot_left = area.x + kLeft, plot_right = area.x + area.width - kRight;
  const int plot_top = area.y + kTop, plot_bottom = area.y + area.height - kBottom;

  const int title_w = text_width(panel.title, kTitleScale);
  cv::putText(image, panel.title, {area.x + (area.width - title_w) / 2, area.y + 16}, kFont, kTitleScale,
              kText, 1, cv::LINE_AA);
  // Hershey text cannot be rotated, so the y label sits above the y axis, clear of the top tick label.
  const std::string y_label = panel.y_label + (panel.log_y ? " (log)" : "");
  cv::putText(image, y_label, {area.x + 8, area.y + 26}, kFont, kFontScale, kText, 1, cv::LINE_AA);
  const int x_label_w = text_width(panel.x_label, kFontScale);
  cv::putText(image, panel.x_label, {(plot_left + plot_right - x_label_w) / 2, area.y + area.height - 8},
              kFont, kFontScale, kText, 1, cv::LINE_AA);

  Range xr, yr;
  for (const auto& s : panel.series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double py = plotted_y(s.y[i], panel.log_y);
      if (!std::isfinite(s.x[i]) || !std::isfinite(py)) continue;
      xr.add(s.x[i]);
      yr.add(py);
    }
  }
  cv::rectangle(image, {plot_left, plot_top}, {plot_right, plot_bottom}, kAxis, 1);
  if (xr.empty()) {
    const int w = text_width("no data", kTitleScale);
    cv::putText(image, "no data", {(plot_left + plot_right - w) / 2, (plot_top + plot_bottom) / 2}, kFont,
                kTitleScale, kText, 1, cv::LINE_AA);
    return;
  }
  xr.widen_if_flat();
  yr.widen_if_flat();
  const auto to_px = [&](double x, double py) {
    const double fx = (x - xr.lo) / (xr.hi - xr.lo), fy = (py - yr.lo) / (yr.hi - yr.lo);
    return cv::Point(static_cast<int>(std::lround(plot_left + fx * (plot_right - plot_left))),
                     static_cast<int>(std::lround(plot_bottom - fy * (plot_bottom - plot_top))));
  };

  for (int t = 0; t < kTicks; ++t) {
    const double f = static_cast<double>(t) / (kTicks - 1);
    const int px = static_cast<int>(std::lround(plot_left + f * (plot_right - plot_left)));
    const int py = static_cast<int>(std::lround(plot_bottom - f * (plot_bottom - plot_top)));
    if (t > 0 && t < kTicks - 1) {
      cv::line(image, {px, plot_top + 1}, {px, plot_bottom - 1}, kGrid, 1);
      cv::line(image, {plot_left + 1, py}, {plot_right - 1, py}, kGrid, 1);
    }
    cv::line(image, {px, plot_bottom}, {px, plot_bottom + 4}, kAxis, 1);
    cv::line(image, {plot_left - 4, py}, {plot_left, py}, kAxis, 1);
    const std::string xl = tick_label(xr.lo + f * (xr.hi - xr.lo));
    const int xw = text_width(xl, kFontScale);
    // The end labels stay inside the panel: the first starts at its tick, the last ends at its tick.
    const int x_text = t == 0 ? px : (t == kTicks - 1 ? px - xw : px - xw / 2);
    cv::putText(image, xl, {x_text, plot_bottom + 18}, kFont, kFontScale, kText, 1, cv::LINE_AA);
    const double yv = yr.lo + f * (yr.hi - yr.lo);
    const std::string yl = tick_label(panel.log_y ? std::pow(10.0, yv) : yv);
    cv::putText(image, yl, {std::max(area.x + 2, plot_left - 8 - text_width(yl, kFontScale)), py + 4}, kFont,
                kFontScale, kText, 1, cv::LINE_AA);
  }

  // The curves, clipped to the plot area.
  cv::Mat plot = image(cv::Rect(cv::Point(plot_left + 1, plot_top + 1), cv::Point(plot_right, plot_bottom)));
  const cv::Point origin(plot_left + 1, plot_top + 1);
  for (size_t k = 0; k < panel.series.size(); ++k) {
    const Series& s = panel.series[k];
    const cv::Scalar colour = to_scalar(series_colour(k));
    std::vector<cv::Point> points;
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double py = plotted_y(s.y[i], panel.log_y);
      if (std::isfinite(s.x[i]) && std::isfinite(py)) points.push_back(to_px(s.x[i], py) - origin);
    }
    if (points.size() == 1) {
      cv::circle(plot, points[0], 3, colour, cv::FILLED, cv::LINE_AA);
    } else if (points.size() > 1) {
      cv::polylines(plot, points, false, colour, 2, cv::LINE_AA);
    }
  }

  // The legend, top right inside the plot area; solid (not anti-aliased) swatches keep each colour exact.
  int legend_w = 0;
  for (const auto& s : panel.series) legend_w = std::max(legend_w, text_width(s.name, kFontScale));
  legend_w += 40;
  const int row_h = 16;
  const int legend_h = static_cast<int>(panel.series.size()) * row_h + 8;
  const cv::Point legend_tl(plot_right - legend_w - 6, plot_top + 6);
  cv::rectangle(image, legend_tl, legend_tl + cv::Point(legend_w, legend_h), kBackground, cv::FILLED);
  cv::rectangle(image, legend_tl, legend_tl + cv::Point(legend_w, legend_h), kGrid, 1);
  for (size_t k = 0; k < panel.series.size(); ++k) {
    const int y = legend_tl.y + 12 + static_cast<int>(k) * row_h;
    cv::line(image, {legend_tl.x + 6, y - 4}, {legend_tl.x + 28, y - 4}, to_scalar(series_colour(k)), 3,
             cv::LINE_8);
    cv::putText(image, panel.series[k].name, {legend_tl.x + 34, y}, kFont, kFontScale, kText, 1, cv::LINE_AA);
  }
}

}  // namespace

std::array<uint8_t, 3> series_colour(size_t index) {
  return kPalette[index % kPalette.size()];
}

void write_curves_png(const std::string& path, const std::vector<Panel>& panels, int panel_width,
                      int panel_height) {
  if (panels.empty()) throw ValueError("write_curves_png " + path + ": no panels to draw");
  if (panel_width < 200 || panel_height < 120) {
    throw ValueError("write_curves_png " + path + ": a panel of " + std::to_string(panel_width) + "x" +
                     std::to_string(panel_height) + " pixels is too small (at least 200x120)");
  }
  for (const auto& p : panels) {
    for (const auto& s : p.series) {
      if (s.x.size() != s.y.size()) {
        throw ValueError("write_curves_png " + path + ": series \"" + s.name + "\" of panel \"" + p.title +
                         "\" has " + std::to_string(s.x.size()) + " x values and " +
                         std::to_string(s.y.size()) + " y values");
      }
    }
  }
  cv::Mat image(panel_height * static_cast<int>(panels.size()), panel_width, CV_8UC3, kBackground);
  for (size_t i = 0; i < panels.size(); ++i) {
    draw_panel(image, cv::Rect(0, static_cast<int>(i) * panel_height, panel_width, panel_height), panels[i]);
  }
  std::vector<uchar> png;
  if (!cv::imencode(".png", image, png)) throw IoError(path, "cannot encode the curves as PNG");
  io::write_file_atomic(path, std::string(png.begin(), png.end()));
}

}  // namespace amt::io
