// rect_grids: V1–V3 on rectangular grids.
//   rect_grids.resize            DynamicResize on any source size: sides multiples of q, within max_side,
//                                orientation and aspect kept (one q step), no growth without allow_upscale;
//                                K follows the pixel-centre rule exactly.
//   rect_grids.shuffle           pixel_shuffle_2d element by element against the V3 index map on rectangular
//                                grids; the inverse round-trips; a grid not divisible by s is a typed error.
//   rect_grids.position_interpolation  DINOv2 position table for any grid vs the same resampling in fp64.
//   rect_grids.model             a resized source image through the real model: Hp·Wp backbone tokens and
//                                Gh·Gw projector tokens, finite outputs.
//   rect_grids.refinement_cell   a 3-D point at the centre of patch cell (i, j) of the resized image,
//   projected
//                                with the rescaled K, samples exactly cell (i, j) of the feature map.
//   rect_grids.hand_crop         a hand crop of any source image: projecting 3-D joints with the cropped K
//                                lands on their cropped pixels, and the cropped image puts a bright spot
//                                where the crop map says.
#include <torch/nn/functional/upsampling.h>
#include <torch/torch.h>
#include <opencv2/core.hpp>

#include "conformance/lib/budgets.hpp"
#include "conformance/lib/gen_util.hpp"
#include "reference/core/error.hpp"
#include "reference/model/dinov2.hpp"
#include "reference/model/pixel_refinement.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/islands.hpp"
#include "reference/vision/camera_rescale.hpp"
#include "reference/vision/dynamic_resize.hpp"
#include "reference/vision/hand_crop.hpp"
#include "reference/vision/image_grid.hpp"
#include "reference/vision/pixel_shuffle.hpp"

namespace amt::conformance {

namespace {
using precision::PrecisionPolicy;

std::string size_str(int64_t h, int64_t w) {
  return std::to_string(h) + "x" + std::to_string(w);
}

// A random camera for an image of `src`: focal length in [f_lo, f_hi), aspect 0.8-1.2, the principal point
// anywhere in the image, skew for odd seeds.
template <class Unit>
vision::Intrinsics random_camera(Unit& unit, vision::ImageSize src, uint64_t seed, double f_lo, double f_hi) {
  vision::Intrinsics K;
  K.fx = f_lo + (f_hi - f_lo) * unit();
  K.fy = K.fx * (0.8 + 0.4 * unit());
  K.cx = (src.width - 1) * unit();
  K.cy = (src.height - 1) * unit();
  K.skew = seed % 2 ? 2.0 * unit() - 1.0 : 0.0;
  return K;
}

// --- rect_grids.resize ---
rc::Gen<Case> gen_resize(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.property = "rect_grids.resize";
    c.config = o.config;
    c.shuffle = *rc::gen::element<int64_t>(1, 2, 3, 4);
    c.backbone = *rc::gen::elementOf(backbone_variants(c.config));
    const int64_t q = case_side_quantum(c);
    c.max_side = q * *rc::gen::inRange<int64_t>(1, 81);
    c.allow_upscale = *rc::gen::arbitrary<bool>();
    // Sizes from 1 px to beyond 8K, small and large mixed so extreme aspect ratios are common; a third of the
    // cases have a long side that is already a multiple of q within max_side (where rounding the short side
    // could enlarge it).
    const auto side = [] {
      return *rc::gen::oneOf(rc::gen::inRange<int64_t>(1, 40), rc::gen::inRange<int64_t>(1, 9000));
    };
    c.height = side();
    c.width = side();
    if (*rc::gen::inRange(0, 3) == 0) {
      const int64_t lng = q * *rc::gen::inRange<int64_t>(1, c.max_side / q + 1);
      const int64_t shrt = *rc::gen::inRange<int64_t>(1, lng + 1);
      const bool portrait = *rc::gen::arbitrary<bool>();
      c.height = portrait ? lng : shrt;
      c.width = portrait ? shrt : lng;
    }
    c.seed = draw_seed();
    return c;
  });
}

Outcome run_resize(const Case& c) {
  Outcome o;
  const int64_t q = case_side_quantum(c), m = c.max_side;
  const vision::ImageSize src{c.height, c.width};
  const vision::ImageSize t = vision::dynamic_resize_target(src, q, m, c.allow_upscale);
  const std::string what = size_str(src.height, src.width) + " → " + size_str(t.height, t.width) + " (q " +
                           std::to_string(q) + ", max side " + std::to_string(m) + ")";
  o.require(t.height % q == 0 && t.width % q == 0, "sides are multiples of q", "exact", what);
  o.require(t.height >= q && t.width >= q && t.height <= m && t.width <= m, "sides within [q, max_side]",
            "exact", what);
  const bool tall = src.height >= src.width;
  o.require(
      src.height == src.width ? t.height == t.width : (tall ? t.height >= t.width : t.width >= t.height),
      "orientation kept", "exact", what);
  // Aspect ratio within one q step, |S' − short·L'/long| < q, in exact integers.
  const int64_t lng = std::max(src.height, src.width), shrt = std::min(src.height, src.width);
  const int64_t L2 = std::max(t.height, t.width), S2 = std::min(t.height, t.width);
  o.require(std::abs(S2 * lng - shrt * L2) < q * lng, "aspect kept within one q step", "exact",
            what + ": short side " + std::to_string(S2) + " vs " + std::to_string(double(shrt) * L2 / lng));
  // The long side: the smallest multiple of q not below long, capped at m, with upscale; the largest multiple
  // of q not above min(long, m) (q at least) without.
  const int64_t want_long = c.allow_upscale ? std::min(m, std::max(q, ((lng + q - 1) / q) * q))
                                            : std::max(q, (std::min(lng, m) / q) * q);
  o.require(L2 == want_long, "long side by the V1 rule", "exact",
            what + ": long side " + std::to_string(L2) + ", the rule gives " + std::to_string(want_long));
  // K: a point's pixel after the resize is the pixel-centre rule applied to its pixel before (fp64), for a
  // random camera (focal lengths, principal point anywhere in the image, skew); and its grid_sample
  // coordinate is the same before and after, so the refinement samples the same physical spot on every grid.
  at::Generator gen = at::detail::createCPUGenerator(c.seed);
  const auto unit = [&] { return torch::rand({1}, gen, torch::kDouble).item<double>(); };
  const vision::Intrinsics K = random_camera(unit, src, c.seed, 50, 3050);
  const torch::Tensor K0 = vision::intrinsics_matrix(K), K1 = vision::rescale_intrinsics(K0, src, t);
  o.require(K1.scalar_type() == torch::kDouble, "rescaled K keeps its dtype", "dtype",
            c10::toString(K1.scalar_type()));
  torch::Tensor X = (torch::rand({16, 3}, gen, torch::kDouble) * 2 - 1);
  const torch::Tensor Z = 0.2 + 5.0 * torch::rand({16}, gen, torch::kDouble);
  X.select(1, 0).mul_(Z);
  X.select(1, 1).mul_(Z);
  X.select(1, 2).copy_(Z);
  const auto project = [&](const torch::Tensor& k) {
    const torch::Tensor uvw = torch::matmul(X, k.transpose(0, 1));
    return uvw.narrow(1, 0, 2) / uvw.narrow(1, 2, 1);
  };
  const torch::Tensor before = project(K0), after = project(K1);
  const double sx = static_cast<double>(t.width) / src.width, sy = static_cast<double>(t.height) / src.height;
  const torch::Tensor expect =
      torch::stack({(before.select(1, 0) + 0.5) * sx - 0.5, (before.select(1, 1) + 0.5) * sy - 0.5}, 1);
  const Measure px = point_error(after, expect, 1.0);
  o.budget_check("K rescaled with the pixel-centre rule", "resize_k_px", "any", px.value, px.detail);
  const Measure xy =
      point_error(vision::pixel_to_normalized(after, t), vision::pixel_to_normalized(before, src), 1.0);
  o.budget_check("grid_sample coordinate unchanged by the resize", "resize_grid_coord", "any", xy.value,
                 xy.detail);
  return o;
}

// --- rect_grids.shuffle ---
// Case fields: height/width = the patch grid (Hp, Wp) = (Gh·s, Gw·s); batch; shuffle s; channels 1 + seed
// % 5.
rc::Gen<Case> gen_shuffle(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.property = "rect_grids.shuffle";
    c.config = o.config;
    c.shuffle = *rc::gen::inRange<int64_t>(1, 5);
    c.height = c.shuffle * *rc::gen::inRange<int64_t>(1, 7);
    c.width = c.shuffle * *rc::gen::inRange<int64_t>(1, 7);
    c.batch = *rc::gen::inRange<int64_t>(1, 3);
    c.seed = draw_seed();
    return c;
  });
}

Outcome run_shuffle(const Case& c) {
  Outcome o;
  const int64_t B = c.batch, hp = c.height, wp = c.width, s = c.shuffle,
                C = 1 + static_cast<int64_t>(c.seed % 5);
  const int64_t gh = hp / s, gw = wp / s;
  const torch::Tensor x = torch::arange(B * hp * wp * C, torch::kFloat).view({B, hp * wp, C});
  const torch::Tensor y = vision::pixel_shuffle_2d(x, hp, wp, s);
  const std::string grid = size_str(hp, wp) + " s=" + std::to_string(s);
  const bool shape_ok = y.dim() == 3 && y.size(0) == B && y.size(1) == gh * gw && y.size(2) == s * s * C;
  o.require(shape_ok, "shuffled shape", "exact",
            grid + ": got " + c10::str(y.sizes()) + ", want [" + std::to_string(B) + ", " +
                std::to_string(gh * gw) + ", " + std::to_string(s * s * C) + "]");
  if (!shape_ok) return o;
  // V3: out[b, i·Gw+j, (dy·s+dx)·C+c] = in[b, (i·s+dy)·Wp + (j·s+dx), c].
  torch::Tensor want = torch::empty_like(y);
  auto a = x.accessor<float, 3>();
  auto w = want.accessor<float, 3>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < gh; ++i)
      for (int64_t j = 0; j < gw; ++j)
        for (int64_t dy = 0; dy < s; ++dy)
          for (int64_t dx = 0; dx < s; ++dx)
            for (int64_t ch = 0; ch < C; ++ch)
              w[b][i * gw + j][(dy * s + dx) * C + ch] = a[b][(i * s + dy) * wp + (j * s + dx)][ch];
  o.require(torch::equal(y, want), "V3 index map", "exact", grid + ": " + worst_element(y, want));
  const torch::Tensor back = vision::pixel_unshuffle_2d(y, hp, wp, s);
  o.require(torch::equal(back, x), "unshuffle round-trip", "exact", grid + ": " + worst_element(back, x));
  const torch::Tensor z =
      torch::randn({B, gh * gw, s * s * C}, at::detail::createCPUGenerator(c.seed), torch::kDouble);
  const torch::Tensor zz = vision::pixel_shuffle_2d(vision::pixel_unshuffle_2d(z, hp, wp, s), hp, wp, s);
  o.require(torch::equal(zz, z), "unshuffle is also a right inverse", "exact",
            grid + ": " + worst_element(zz, z));
  if (s > 1) {
    bool typed = false;
    std::string got = "no error";
    try {
      vision::pixel_shuffle_2d(torch::zeros({B, (hp + 1) * wp, C}), hp + 1, wp, s);
    } catch (const ShapeError& e) {
      typed = std::string(e.what()).find(std::to_string(hp + 1)) != std::string::npos;
      got = e.what();
    } catch (const std::exception& e) {
      got = describe_exception(e);
    }
    o.require(typed, "grid not divisible by s is a ShapeError naming it", "error",
              size_str(hp + 1, wp) + " s=" + std::to_string(s) + ": " + got);
  }
  return o;
}

// --- rect_grids.position_interpolation ---
// Case fields: height/width = the patch grid (hp, wp); backbone dinov2-hf | dinov2-meta; policy.
rc::Gen<Case> gen_position(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.property = "rect_grids.position_interpolation";
    c.config = o.config;
    c.backbone = *rc::gen::element<std::string>("dinov2-hf", "dinov2-meta");
    c.policy = draw_policy(o);
    c.height = *rc::gen::inRange<int64_t>(1, 46);
    c.width = *rc::gen::inRange<int64_t>(1, 46);
    c.seed = draw_seed();
    return c;
  });
}

Outcome run_position(const Case& c) {
  Outcome o;
  const PrecisionPolicy policy = PrecisionPolicy::parse(c.policy);
  model::AmtModel& m = case_model(c, policy);
  auto* dino = dynamic_cast<model::Dinov2*>(m->encoder->backbone.get());
  if (!dino) throw ConfigError("rect_grids.position_interpolation: the case's backbone is not DINOv2");
  const model::VitConfig& vc = dino->config();
  const int64_t M = vc.pos_table_side(), D = vc.hidden_size, hp = c.height, wp = c.width;
  torch::NoGradGuard no_grad;
  const torch::Tensor got = dino->embeddings->position_embedding(hp, wp, policy);
  // The documented rule (hf: explicit size; meta: scale factors (n + offset)/M, used as given) applied to the
  // table rows of `stored` in its own dtype. The native grid takes the table untouched.
  const auto resample = [&](const torch::Tensor& stored) {
    if (hp == M && wp == M) return stored;
    const torch::Tensor table = stored.narrow(1, 1, M * M).reshape({1, M, M, D}).permute({0, 3, 1, 2});
    namespace F = torch::nn::functional;
    auto opt = F::InterpolateFuncOptions().mode(torch::kBicubic).align_corners(false);
    if (vc.pos_interp == model::PosInterp::kMeta) {
      opt.scale_factor(
             std::vector<double>{(hp + vc.interpolate_offset) / M, (wp + vc.interpolate_offset) / M})
          .recompute_scale_factor(false);
    } else {
      opt.size(std::vector<int64_t>{hp, wp});
    }
    const torch::Tensor r = F::interpolate(table, opt).permute({0, 2, 3, 1}).reshape({1, hp * wp, D});
    return torch::cat({stored.narrow(1, 0, 1), r.to(stored.scalar_type())}, 1);
  };
  const torch::Tensor& param = dino->embeddings->position_embeddings;
  // Reference: the policy's own table values, resampled in fp64.
  const torch::Tensor want = resample(param.to(torch::kDouble));
  o.require(got.sizes() == want.sizes(), "position embedding shape", "exact",
            "got " + c10::str(got.sizes()) + ", want " + c10::str(want.sizes()));
  if (got.sizes() != want.sizes()) return o;
  const Measure l2 = rel_l2(got, want);
  o.budget_check("position embedding " + size_str(hp, wp), "position_interp_rel_l2", c.policy, l2.value,
                 l2.detail);
  // P2: upstream resamples in fp32 under every policy (fp64 included), so the table is exactly the fp32
  // resampling of the same values, in the activation dtype. LibTorch 2.x's bf16 bicubic is no longer wrong
  // (fp32 inside, within the budget above) but rounds between its passes: not the same numbers.
  if (!(hp == M && wp == M)) {
    const torch::Tensor fp32 = resample(param.to(torch::kFloat)).to(got.scalar_type());
    const torch::Tensor rows = got.narrow(1, 1, hp * wp), want_rows = fp32.narrow(1, 1, hp * wp);
    o.require(torch::equal(rows, want_rows), "position table resampled in fp32 (P2)", "exact",
              "max |got - fp32 resampling| = " +
                  std::to_string(
                      (rows.to(torch::kDouble) - want_rows.to(torch::kDouble)).abs().max().item<double>()));
  }
  return o;
}

// --- rect_grids.model ---
// Case fields: height/width = the source image before DynamicResize (the config's max side, upscaling on).
rc::Gen<Case> gen_model(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.property = "rect_grids.model";
    c.config = o.config;
    c.backbone = *rc::gen::elementOf(backbone_variants(c.config));
    c.shuffle = *rc::gen::element<int64_t>(1, 2);
    c.policy = draw_low_precision_policy(o);
    c.height = *rc::gen::inRange<int64_t>(8, 1201);
    c.width = *rc::gen::inRange<int64_t>(8, 1201);
    c.image_dtype = torch::kByte;
    c.seed = draw_seed();
    return c;
  });
}

struct Resized {
  vision::ImageSize size;
  vision::ImageGrid grid;
  torch::Tensor K;  // [1,3,3] fp64, rescaled
  vision::Intrinsics K0;
};
Resized resize_case(const Case& c) {
  const model::AmtConfig cfg = case_config(c);
  const int64_t q = cfg.backbone.patch_size * c.shuffle;
  const vision::ImageSize src{c.height, c.width};
  Resized r;
  r.size = vision::DynamicResize(q, cfg.max_side, true).target_size(src);
  r.grid = vision::make_image_grid(r.size, cfg.backbone.patch_size, c.shuffle);
  const double f = 1.2 * std::max(c.height, c.width);
  r.K0 = {f, f, (c.width - 1) / 2.0, (c.height - 1) / 2.0, 0.0};
  r.K = vision::rescale_intrinsics(vision::intrinsics_matrix(r.K0), src, r.size).unsqueeze(0);
  return r;
}

Outcome run_model_grid(const Case& c) {
  Outcome o;
  const PrecisionPolicy policy = PrecisionPolicy::parse(c.policy);
  const Resized r = resize_case(c);
  Case sized = c;
  sized.height = r.size.height;
  sized.width = r.size.width;
  TensorMap batch = make_case_batch(sized);
  batch["K"] = r.K.to(torch::kFloat);
  const ModelRun run = run_model(c, batch, policy);
  const std::string grid = r.grid.str();
  o.require(run.probes.at("backbone.patch").size(1) == r.grid.patch_tokens(), "backbone tokens = Hp·Wp",
            "exact", grid + ": got " + c10::str(run.probes.at("backbone.patch").sizes()));
  if (c.shuffle > 1) {
    o.require(run.probes.at("projector.memory").size(1) == r.grid.tokens(), "projector tokens = Gh·Gw",
              "exact", grid + ": got " + c10::str(run.probes.at("projector.memory").sizes()));
  }
  for (const auto& [name, t] : run.outputs) {
    o.require(torch::isfinite(t.to(torch::kFloat)).all().item<bool>(), name + " finite", "exact",
              name + " has NaN/Inf on " + grid);
  }
  return o;
}

// --- rect_grids.refinement_cell ---
// Case fields: height/width = the source image; seed picks the cell and the depth.
rc::Gen<Case> gen_cell(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c = *gen_model(o);
    c.property = "rect_grids.refinement_cell";
    return c;
  });
}

Outcome run_cell(const Case& c) {
  Outcome o;
  const PrecisionPolicy policy = PrecisionPolicy::parse(c.policy);
  const Resized r = resize_case(c);
  const int64_t patch = r.grid.patch, hp = r.grid.hp, wp = r.grid.wp;
  at::Generator gen = at::detail::createCPUGenerator(c.seed);
  const int64_t i = torch::randint(0, hp, {1}, gen).item<int64_t>();
  const int64_t j = torch::randint(0, wp, {1}, gen).item<int64_t>();
  const double z = 0.3 + torch::rand({1}, gen, torch::kDouble).item<double>();
  // The centre of cell (i, j) in the resized image, mapped back to the source image by the pixel-centre rule,
  // back-projected with the source K to depth z.
  const double u1 = (j + 0.5) * patch - 0.5, v1 = (i + 0.5) * patch - 0.5;
  const double sx = static_cast<double>(r.size.width) / c.width,
               sy = static_cast<double>(r.size.height) / c.height;
  const double u0 = (u1 + 0.5) / sx - 0.5, v0 = (v1 + 0.5) / sy - 0.5;
  const torch::Tensor X =
      torch::tensor({(u0 - r.K0.cx) / r.K0.fx * z, (v0 - r.K0.cy) / r.K0.fy * z, z}, torch::kDouble)
          .view({1, 1, 3});
  // A feature map whose channels are the cell's row and column.
  const torch::Tensor rows = torch::arange(hp, torch::kDouble).view({hp, 1}).expand({hp, wp});
  const torch::Tensor cols = torch::arange(wp, torch::kDouble).view({1, wp}).expand({hp, wp});
  const torch::Tensor fmap = precision::to_activation(torch::stack({rows, cols}).unsqueeze(0), policy);
  const torch::Tensor sampled =
      model::sample_at_points(fmap, precision::to_output(X, policy),
                              precision::to_island(r.K, precision::Island::kCameraProjection, policy),
                              torch::Tensor(), r.size, 0.1, policy);
  const torch::Tensor want = torch::tensor({static_cast<double>(i), static_cast<double>(j)}, torch::kDouble);
  const Measure m = point_error(sampled.view({2}), want, 1.0);
  o.budget_check("cell (" + std::to_string(i) + ", " + std::to_string(j) + ") of " + r.grid.str(),
                 "refinement_cell", c.policy, m.value, m.detail);
  return o;
}
// --- rect_grids.hand_crop ---
// Case fields: height/width = the source image, max_side = the crop's side, seed = camera, hand and jitter.
rc::Gen<Case> gen_crop(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.property = "rect_grids.hand_crop";
    c.config = o.config;
    c.height = *rc::gen::inRange<int64_t>(48, 1200);
    c.width = *rc::gen::inRange<int64_t>(48, 1200);
    c.max_side = 14 * *rc::gen::inRange<int64_t>(1, 17);
    c.seed = draw_seed();
    return c;
  });
}

Outcome run_crop(const Case& c) {
  Outcome o;
  at::Generator gen = at::detail::createCPUGenerator(c.seed);
  const auto unit = [&] { return torch::rand({1}, gen, torch::kDouble).item<double>(); };
  const vision::ImageSize src{c.height, c.width};
  const vision::Intrinsics K = random_camera(unit, src, c.seed, 100, 2100);
  // A hand: 21 points within 10 cm of a root that projects inside the image, at 0.2-3 m.
  const double z = 0.2 + 2.8 * unit();
  const double u_root = (src.width - 1) * unit(), v_root = (src.height - 1) * unit();
  const double y_root = (v_root - K.cy) / K.fy * z;
  const double x_root = (u_root - K.cx - K.skew * y_root / z) / K.fx * z;
  const torch::Tensor X = torch::tensor({x_root, y_root, z}, torch::kDouble).view({1, 3}) +
                          0.1 * (2 * torch::rand({21, 3}, gen, torch::kDouble) - 1);
  const torch::Tensor K0 = vision::intrinsics_matrix(K);
  const auto project = [&](const torch::Tensor& k) {
    const torch::Tensor uvw = torch::matmul(X, k.transpose(0, 1));
    return uvw.narrow(1, 0, 2) / uvw.narrow(1, 2, 1);
  };
  const torch::Tensor uv = project(K0);
  vision::HandCropSpec spec;
  spec.size = c.max_side;
  spec.margin = 1.0 + unit();
  spec.jitter_shift = 0.3 * unit();
  spec.jitter_scale = 0.5 * unit();
  const vision::CropBox box = vision::jitter_box(vision::hand_box(uv, torch::ones({21}, torch::kBool), spec),
                                                 spec, 2 * unit() - 1, 2 * unit() - 1, 2 * unit() - 1);
  const std::string what = "box (" + std::to_string(box.x0) + ", " + std::to_string(box.y0) + ", side " +
                           std::to_string(box.side) + ") of " + size_str(src.height, src.width) + " → " +
                           std::to_string(spec.size) + " px";
  const torch::Tensor Kc = vision::crop_intrinsics(K0, box, spec.size);
  o.require(Kc.scalar_type() == torch::kDouble, "cropped K keeps its dtype", "dtype",
            c10::toString(Kc.scalar_type()));
  const torch::Tensor want = vision::crop_pixels(uv, box, spec.size);
  const Measure px = point_error(project(Kc), want, 1.0);
  o.budget_check("K cropped: joints projected with the cropped K land on their cropped pixels", "resize_k_px",
                 "any", px.value, what + ": " + px.detail);
  const Measure same =
      point_error(vision::intrinsics_matrix(vision::crop_intrinsics(K, box, spec.size)), Kc, 1.0);
  o.budget_check("K cropped: Intrinsics and tensor forms agree", "resize_k_px", "any", same.value,
                 same.detail);
  // The image: a bright Gaussian spot (sigma 1.5 crop pixels, at least 1.5 source pixels) in a black source,
  // centred where the box and the image overlap with 3 sigma to spare (a spot cut by an edge would move its
  // centroid); its intensity centroid in the crop is where the crop map sends its centre.
  const double sigma = std::max(1.5, 1.5 * box.side / static_cast<double>(spec.size));
  const double lo_x = std::max(box.x0, -0.5) + 3 * sigma,
               hi_x = std::min(box.x0 + box.side, src.width - 0.5) - 3 * sigma;
  const double lo_y = std::max(box.y0, -0.5) + 3 * sigma,
               hi_y = std::min(box.y0 + box.side, src.height - 0.5) - 3 * sigma;
  const bool room = lo_x <= hi_x && lo_y <= hi_y;  // else no whole spot fits inside both: nothing to measure
  const double sx = 0.5 * (lo_x + hi_x), sy = 0.5 * (lo_y + hi_y);
  cv::Mat image(static_cast<int>(src.height), static_cast<int>(src.width), CV_8UC1, cv::Scalar(0));
  for (int v = 0; room && v < image.rows; ++v)
    for (int u = 0; u < image.cols; ++u) {
      const double d2 = std::pow(u - sx, 2) + std::pow(v - sy, 2);
      image.at<uint8_t>(v, u) = cv::saturate_cast<uint8_t>(255.0 * std::exp(-0.5 * d2 / (sigma * sigma)));
    }
  const cv::Mat spot = vision::crop_image(image, box, spec.size);
  o.require(spot.rows == spec.size && spot.cols == spec.size, "crop is size × size", "exact",
            std::to_string(spot.rows) + "x" + std::to_string(spot.cols));
  if (!room) return o;
  double mass = 0, mu = 0, mv = 0;
  for (int v = 0; v < spot.rows; ++v)
    for (int u = 0; u < spot.cols; ++u) {
      const double w = spot.at<uint8_t>(v, u);
      mass += w, mu += w * u, mv += w * v;
    }
  const torch::Tensor at = vision::crop_pixels(torch::tensor({sx, sy}, torch::kFloat64), box, spec.size);
  const double off =
      mass > 0 ? std::hypot(mu / mass - at[0].item<double>(), mv / mass - at[1].item<double>()) : 1e9;
  o.budget_check("cropped image: a spot lands where the crop map says", "crop_centroid_px", "any", off, what);
  return o;
}

}  // namespace

std::vector<Property> rect_grid_properties() {
  return {
      {"rect_grids.resize",
       "rect_grids",
       "DynamicResize on any source size: multiples of q, within max_side, aspect and orientation kept, no "
       "growth without allow_upscale; K follows the pixel-centre rule",
       {"exact", "resize_k_px", "resize_grid_coord"},
       {{"vision.resize_square", "^(long side by the V1 rule|aspect kept|orientation kept)"},
        {"vision.resize_upstream_no_upscale", "^(sides are multiples of q|long side by the V1 rule)"}},
       200,
       gen_resize,
       run_resize},
      {"rect_grids.shuffle",
       "rect_grids",
       "pixel_shuffle_2d equals the V3 index map element by element on rectangular grids, unshuffle inverts "
       "it, a grid not divisible by s is a ShapeError naming the numbers",
       {"exact", "error"},
       {{"vision.shuffle_square_only", "ShapeError: pixel_shuffle \\(square only\\)|^V3 index map"}},
       60,
       gen_shuffle,
       run_shuffle},
      {"rect_grids.position_interpolation",
       "rect_grids",
       "the DINOv2 position embedding for any hp×wp grid (hf and meta modes) vs the same bicubic resampling "
       "of the same table in fp64, and exactly the fp32 resampling under every policy (P2)",
       {"position_interp_rel_l2"},
       {{"island.position_interpolation_compute_dtype", "position table resampled in fp32"}},
       60,
       gen_position,
       run_position},
      {"rect_grids.model",
       "rect_grids",
       "a source image of any size, resized by DynamicResize, through AmtModel: Hp·Wp backbone tokens, Gh·Gw "
       "projector tokens, finite outputs",
       {"exact"},
       {},
       16,
       gen_model,
       run_model_grid},
      {"rect_grids.refinement_cell",
       "rect_grids",
       "a 3-D point at the centre of patch cell (i, j) of the resized image, projected with the rescaled K, "
       "samples cell (i, j) of the refinement's feature map",
       {"refinement_cell"},
       {{"model.refinement_normalise_by_feature_map", "refinement_cell@"},
        {"island.grid_sample_feature_dtype", "^cell .*refinement_cell@"},
        {"island.projection_activation_dtype", "^cell .*refinement_cell@"},
        {"island.projection_no_cast",
         "expected scalar type (BFloat16 but found Float|Float but found BFloat16)"}},
       // 300 (~0.05 s): bf16 sampling coordinates miss a cell centre by > 1e-3 cell only on a bf16 policy,
       // a non-power-of-two feature map and a centre far from 0; 60 cases missed that for some seeds.
       300,
       gen_cell,
       run_cell},
      {"rect_grids.hand_crop",
       "rect_grids",
       "a hand crop (box from the 2-D joints, margin, jitter) of any source image: joints projected with the "
       "cropped K land on their cropped pixels, and the cropped image puts the box centre at the crop's "
       "centre",
       {"exact", "dtype", "resize_k_px", "crop_centroid_px"},
       {{"vision.crop_keeps_principal_point", "^K cropped: joints projected"}},
       60,
       gen_crop,
       run_crop},
  };
}

}  // namespace amt::conformance
