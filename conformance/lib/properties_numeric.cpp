// numeric_faults (docs/design.md §9): what a bad number in the data does. A NaN or Inf in an
// image, a camera or a label and a degenerate camera are stopped at the boundary (conform_batch) with an
// amt::ValueError naming the field; joints behind the camera go through the model and the losses with a
// finite loss and finite gradients (the projection island clamps the depth, the reprojection term masks
// them); a zero-area image is a typed error in the per-image pipeline, never a crash.
//
// Which fault and where come from the case's seed, so a case replays exactly.
#include <torch/torch.h>

#include <opencv2/core.hpp>
#include <random>

#include "conformance/lib/case_model.hpp"
#include "conformance/lib/gen_util.hpp"
#include "conformance/lib/properties.hpp"
#include "reference/core/error.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/vision/preprocess.hpp"

namespace amt::conformance {
namespace {

using precision::PrecisionPolicy;

struct NumericFault {
  std::string field;  // the batch field it lands in
  std::string what;   // "NaN", "+Inf", "-Inf", "fx <= 0", ...
};

// The faults a batch of this case can carry (uint8 images cannot hold a NaN; E only when the case has one).
std::vector<NumericFault> fault_menu(const Case& c) {
  std::vector<NumericFault> m;
  for (const char* v : {"NaN", "+Inf", "-Inf"}) {
    if (c.image_dtype != torch::kByte) m.push_back({"image", v});
    m.push_back({"K", v});
    if (c.with_e) m.push_back({"E", v});
    m.push_back({"joint_3d", v});
    m.push_back({"joint_2d", v});
    m.push_back({"grasped_pose", v});
  }
  m.push_back({"K", "fx <= 0"});
  m.push_back({"K", "fy <= 0"});
  m.push_back({"K", "last row not (0, 0, 1)"});
  return m;
}

// Puts `f` into one element of one image of `batch` (both drawn from `seed`).
void inject(TensorMap& batch, const NumericFault& f, uint64_t seed) {
  std::mt19937_64 rng(seed);
  torch::Tensor t = batch.at(f.field).clone();
  const int64_t b = static_cast<int64_t>(rng() % static_cast<uint64_t>(t.size(0)));
  if (f.what == "fx <= 0" || f.what == "fy <= 0") {
    const int64_t i = f.what == "fx <= 0" ? 0 : 1;
    t[b][i][i] = (rng() % 2) ? 0.0 : -500.0;
  } else if (f.what == "last row not (0, 0, 1)") {
    t[b][2][2] = 2.0;
  } else {
    const double v = f.what == "NaN"    ? std::numeric_limits<double>::quiet_NaN()
                     : f.what == "+Inf" ? std::numeric_limits<double>::infinity()
                                        : -std::numeric_limits<double>::infinity();
    torch::Tensor flat = t[b].view({-1});
    flat[static_cast<int64_t>(rng() % static_cast<uint64_t>(flat.numel()))] = v;
  }
  batch[f.field] = t;
}

rc::Gen<Case> gen_boundary(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.property = "numeric.boundary";
    draw_model_and_grid(c, o, 3, 3);
    c.policy = draw_policy(o);
    c.image_dtype = draw_image_dtype();
    c.k_dtype = *rc::gen::element(torch::kFloat, torch::kDouble);
    c.with_e = *rc::gen::arbitrary<bool>();
    c.label_dtype = *rc::gen::element(torch::kFloat, torch::kDouble);
    c.batch = *rc::gen::inRange<int64_t>(1, 5);
    c.seed = draw_seed();
    return c;
  });
}

Outcome run_boundary(const Case& c) {
  Outcome o;
  const PrecisionPolicy policy = PrecisionPolicy::parse(c.policy);
  TensorMap batch = make_case_batch(c);
  try {
    precision::conform_batch(batch, policy);
    o.require(true, "the clean batch conforms", "error", "");
  } catch (const std::exception& e) {
    o.require(false, "the clean batch conforms", "error", describe_exception(e));
    return o;
  }
  const std::vector<NumericFault> menu = fault_menu(c);
  const NumericFault f = menu[c.seed % menu.size()];
  inject(batch, f, c.seed);
  const std::string name = f.what + " in " + f.field + " is a ValueError naming '" + f.field + "'";
  try {
    precision::conform_batch(batch, policy);
    o.require(false, name, "error", "no error: the batch was conformed");
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    o.require(msg.find(f.field) != std::string::npos, name, "error", "the message does not name it: " + msg);
  } catch (const std::exception& e) {
    o.require(false, name, "error", "another error: " + describe_exception(e));
  }
  return o;
}

rc::Gen<Case> gen_behind_camera(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.property = "numeric.behind_camera";
    draw_model_and_grid(c, o, 2, 3);
    c.policy = draw_low_precision_policy(o);
    c.batch = *rc::gen::inRange<int64_t>(1, 4);
    c.seed = draw_seed();
    return c;
  });
}

// Joints at or behind the camera plane (z in [-0.3, 0]) for some joints of one image, and their "projections"
// as a careless label writer would produce them (finite but meaningless).
Outcome run_behind_camera(const Case& c) {
  Outcome o;
  const PrecisionPolicy policy = PrecisionPolicy::parse(c.policy);
  TensorMap batch = make_case_batch(c);
  std::mt19937_64 rng(c.seed);
  const int64_t b = static_cast<int64_t>(rng() % static_cast<uint64_t>(c.batch));
  torch::Tensor j = batch.at("joint_3d").clone();
  const int64_t first = static_cast<int64_t>(rng() % 21), count = 1 + static_cast<int64_t>(rng() % 21);
  for (int64_t k = first; k < std::min<int64_t>(21, first + count); ++k)
    j[b][k][2] = -0.3 * static_cast<double>(rng() % 1000) / 999.0;
  batch["joint_3d"] = j;
  model::AmtModel& m = case_model(c, policy);
  try {
    const ModelRun r = run_model_with_gradients(c, batch, policy);
    const double total = r.loss.total.item<double>();
    o.require(std::isfinite(total), "loss with joints behind the camera is finite", "error",
              "total loss " + std::to_string(total));
    std::string bad;
    for (const auto& item : m->named_parameters()) {
      const torch::Tensor g = item.value().grad();
      if (g.defined() && !torch::isfinite(g).all().item<bool>()) {
        bad = item.key();
        break;
      }
    }
    o.require(bad.empty(), "every gradient is finite", "error", "non-finite gradient in " + bad);
    for (const auto& [name, t] : r.outputs) {
      if (!t.is_floating_point()) continue;
      o.require(torch::isfinite(t).all().item<bool>(), "output " + name + " is finite", "error",
                "non-finite values");
    }
  } catch (const std::exception& e) {
    o.require(false, "forward + losses + backward with joints behind the camera", "error",
              describe_exception(e));
  }
  m->zero_grad();
  return o;
}

rc::Gen<Case> gen_zero_area(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.property = "numeric.zero_area";
    c.config = o.config;
    c.shuffle = *rc::gen::element<int64_t>(1, 2);
    // One side zero (or both), the other a usual size.
    const int64_t kind = *rc::gen::inRange<int64_t>(0, 3);
    c.height = kind == 1 ? *rc::gen::inRange<int64_t>(1, 500) : 0;
    c.width = kind == 2 ? *rc::gen::inRange<int64_t>(1, 500) : 0;
    c.max_side = *rc::gen::element<int64_t>(224, 448);
    c.seed = draw_seed();
    return c;
  });
}

Outcome run_zero_area(const Case& c) {
  Outcome o;
  const cv::Mat img(static_cast<int>(c.height), static_cast<int>(c.width), CV_8UC3, cv::Scalar(90, 120, 150));
  const vision::Intrinsics K{500.0, 500.0, 0.5 * static_cast<double>(c.width),
                             0.5 * static_cast<double>(c.height)};
  const std::string name = "a " + std::to_string(c.height) + "x" + std::to_string(c.width) +
                           " image is an amt::Error naming its size";
  try {
    const vision::Preprocessed p = vision::preprocess_image(img, K, 14, c.shuffle, c.max_side, true);
    o.require(false, name, "error", "no error: got pixel_values " + c10::str(p.pixel_values.sizes()));
  } catch (const Error& e) {
    const std::string msg = e.what();
    const bool names =
        msg.find(std::to_string(c.height) + "x" + std::to_string(c.width)) != std::string::npos ||
        msg.find("empty image") != std::string::npos;
    o.require(names, name, "error", "the message does not say so: " + msg);
  } catch (const std::exception& e) {
    o.require(false, name, "error", "not a typed error: " + describe_exception(e));
  }
  return o;
}

}  // namespace

std::vector<Property> numeric_properties() {
  return {
      {"numeric.boundary",
       "numeric_faults",
       "a NaN/+Inf/-Inf in the image, K, E or a label, or a degenerate camera (fx or fy <= 0, last row not "
       "(0,0,1)), in one element of one image: conform_batch throws amt::ValueError naming the field; the "
       "clean batch conforms",
       {"error"},
       {},
       40,
       gen_boundary,
       run_boundary},
      {"numeric.behind_camera",
       "numeric_faults",
       "joints at or behind the camera plane in one image's labels: forward + compute_losses + backward give "
       "a finite loss, finite outputs and finite gradients (depth clamp in projection, masked reprojection)",
       {"error"},
       {},
       8,
       gen_behind_camera,
       run_behind_camera},
      {"numeric.zero_area",
       "numeric_faults",
       "an image with a zero side through preprocess_image (DynamicResize, K, grid): an amt::Error saying "
       "so, never a crash or an OpenCV exception",
       {"error"},
       {},
       20,
       gen_zero_area,
       run_zero_area},
  };
}

}  // namespace amt::conformance
