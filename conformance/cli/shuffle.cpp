// amt_conformance shuffle: pixel_shuffle_2d (or its inverse) on a tokens tensor from a safetensors file.
//   --input T.safetensors --grid Hp,Wp --factor S [--inverse] --out O.safetensors
// reads `tokens` [B, Hp·Wp, C] (with --inverse: [B, Gh·Gw, C·S²]) and writes `tokens` in the same dtype.
#include <memory>
#include <sstream>

#include "conformance/cli/subcommand.hpp"
#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/vision/pixel_shuffle.hpp"

namespace {

struct ShuffleOptions {
  std::string input, out, grid;
  int64_t factor = 0;
  bool inverse = false;
};

std::pair<int64_t, int64_t> parse_grid(const std::string& text) {
  std::istringstream in(text);
  int64_t hp = 0, wp = 0;
  char comma = 0;
  if (!(in >> hp >> comma >> wp) || comma != ',' || !in.eof() || hp < 1 || wp < 1) {
    throw amt::ConfigError("--grid must be Hp,Wp with two positive integers, got '" + text + "'");
  }
  return {hp, wp};
}

int run_shuffle(const ShuffleOptions& o) {
  const auto [hp, wp] = parse_grid(o.grid);
  const amt::io::Safetensors in = amt::io::read_safetensors(o.input);
  const torch::Tensor& tokens = in.at("tokens");
  torch::Tensor out;
  try {
    out = o.inverse ? amt::vision::pixel_unshuffle_2d(tokens, hp, wp, o.factor)
                    : amt::vision::pixel_shuffle_2d(tokens, hp, wp, o.factor);
  } catch (const amt::ShapeError& e) {
    throw amt::FormatError(o.input, "tokens", e.what());  // the file's tensor does not fit the grid
  }
  amt::io::write_safetensors(o.out, {{"tokens", out}});
  return 0;
}

const amt::cli::Registration kShuffle{
    "shuffle", "2-D pixel shuffle (or --inverse) of `tokens` on the patch grid Hp,Wp with factor S",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<ShuffleOptions>();
      app.add_option("--input", o->input, "input .safetensors holding `tokens`")->required();
      app.add_option("--grid", o->grid, "patch grid before the shuffle: Hp,Wp")->required();
      app.add_option("--factor", o->factor, "shuffle factor S")->required();
      app.add_flag("--inverse", o->inverse, "unshuffle: tokens are [B, Gh*Gw, C*S^2]");
      app.add_option("--out", o->out, "output .safetensors")->required();
      return [o] { return run_shuffle(*o); };
    }};

}  // namespace
