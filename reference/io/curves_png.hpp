// Line plots as one PNG: panels stacked vertically, each with axes, tick labels, a legend and any number of
// series (the trainer's loss curves, the probe's error per module). Drawn with OpenCV primitives rather than
// cv::plot::Plot2d, which draws one series per plot and cannot overlay several on shared axes.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace amt::io {

struct Series {
  std::string name;
  std::vector<double> x,
      y;  // same length; points with a non-finite x or y (or y <= 0 on a log axis) are skipped
};

struct Panel {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool log_y = false;
};

// The colour (B, G, R) of the i-th series of a panel; the palette repeats after its ten colours.
std::array<uint8_t, 3> series_colour(size_t index);

// Writes the panels, each panel_width × panel_height pixels, stacked into one PNG at `path`, atomically
// (encoded in memory, then temporary file and rename). A panel with no finite point says "no data".
// amt::ValueError for no panels, a panel under 200 × 120 pixels or a series whose x and y lengths differ;
// amt::IoError naming the path when it cannot be encoded or written.
void write_curves_png(const std::string& path, const std::vector<Panel>& panels, int panel_width = 640,
                      int panel_height = 360);

}  // namespace amt::io
