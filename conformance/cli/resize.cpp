// amt_conformance resize: the vision pipeline on one image file, for comparison with other implementations.
//   --image IN.jpg|png --fx F --fy F --cx C --cy C --patch P --shuffle S --max-side M [--no-upscale] --out
//   O.safetensors
// writes pixel_values [1,3,H',W'] float32 (ImageNet-normalised), K [3,3] float32 (rescaled, pixel centres at
// integer coordinates: cx' = (cx + 0.5)·W'/W − 0.5) and grid int64 [4] = (Hp, Wp, Gh, Gw). docs/vision.md.
#include <cmath>
#include <memory>

#include "conformance/cli/subcommand.hpp"
#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/vision/image_io.hpp"
#include "reference/vision/preprocess.hpp"

namespace {

struct ResizeOptions {
  std::string image, out;
  double fx = 0, fy = 0, cx = 0, cy = 0;
  int64_t patch = 0, shuffle = 1, max_side = 0;
  bool no_upscale = false;
};

void check_camera_value(double v, const char* flag, bool positive) {
  if (!std::isfinite(v) || (positive && v <= 0)) {
    throw amt::ValueError(std::string(flag) + " must be " + (positive ? "positive and " : "") +
                          "finite, got " + std::to_string(v));
  }
}

int run_resize(const ResizeOptions& o) {
  check_camera_value(o.fx, "--fx", true);
  check_camera_value(o.fy, "--fy", true);
  check_camera_value(o.cx, "--cx", false);
  check_camera_value(o.cy, "--cy", false);
  const cv::Mat rgb = amt::vision::read_image(o.image);
  const amt::vision::Intrinsics K{o.fx, o.fy, o.cx, o.cy, 0.0};
  const amt::vision::Preprocessed p =
      amt::vision::preprocess_image(rgb, K, o.patch, o.shuffle, o.max_side, !o.no_upscale);
  const auto& g = p.grid;
  amt::io::write_safetensors(o.out,
                             {{"pixel_values", p.pixel_values.unsqueeze(0)},
                              {"K", p.K},
                              {"grid", torch::tensor({g.hp, g.wp, g.gh, g.gw}, torch::kInt64)}},
                             {{"original_size", p.original_size.str()},
                              {"size", g.size().str()},
                              {"pixel_centre", "integer coordinates; cx' = (cx + 0.5) * W'/W - 0.5"},
                              {"allow_upscale", o.no_upscale ? "false" : "true"}});
  return 0;
}

const amt::cli::Registration kResize{
    "resize",
    "DynamicResize + K rescale + ImageNet normalisation of one image (writes pixel_values, K, grid)",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<ResizeOptions>();
      app.add_option("--image", o->image, "input image (JPEG, PNG, ...)")->required();
      app.add_option("--fx", o->fx, "focal length x (pixels)")->required();
      app.add_option("--fy", o->fy, "focal length y (pixels)")->required();
      app.add_option("--cx", o->cx, "principal point x (pixels, pixel centres at integers)")->required();
      app.add_option("--cy", o->cy, "principal point y (pixels)")->required();
      app.add_option("--patch", o->patch, "backbone patch size (14 DINOv2, 16 DINOv3)")->required();
      app.add_option("--shuffle", o->shuffle, "pixel-shuffle factor s (q = patch * s)")->default_val(1);
      app.add_option("--max-side", o->max_side, "longest output side; a multiple of patch * shuffle")
          ->required();
      app.add_flag("--no-upscale", o->no_upscale, "never enlarge the image (beyond the minimum of one q)");
      app.add_option("--out", o->out, "output .safetensors")->required();
      return [o] { return run_resize(*o); };
    }};

}  // namespace
