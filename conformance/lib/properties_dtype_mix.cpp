// dtype_mix: policy × image / K / E / label dtypes × batch × grid × backbone × projector × seed.
//   dtype_mix.boundary  conform_batch gives every field the dtype of its role (P1) and keeps camera and label
//                       values exactly (up to the island dtype's rounding).
//   dtype_mix.forward   the whole model and every loss term run without an exception, outputs have the P5
//                       dtypes, and every output and loss term is within budget of the FP32 run of the same
//                       case, in task units.
#include <torch/torch.h>

#include "conformance/lib/budgets.hpp"
#include "conformance/lib/gen_util.hpp"
#include "reference/model/amt_model.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/islands.hpp"

namespace amt::conformance {

namespace {
using precision::PrecisionPolicy;

rc::Gen<Case> gen_dtype_case(const GenOptions& o, const std::string& property) {
  return rc::gen::exec([o, property] {
    Case c;
    c.property = property;
    c.policy = draw_policy(o);
    c.image_dtype = draw_image_dtype();
    c.k_dtype = draw_float_dtype();
    c.with_e = *rc::gen::arbitrary<bool>();
    c.e_dtype = draw_float_dtype();
    c.label_dtype = draw_float_dtype();
    c.batch = *rc::gen::inRange<int64_t>(1, 5);
    draw_model_and_grid(c, o, 4, 5);
    c.seed = draw_seed();
    return c;
  });
}

std::string dt(torch::ScalarType t) {
  return c10::toString(t);
}

Outcome run_boundary(const Case& c) {
  Outcome o;
  const PrecisionPolicy policy = PrecisionPolicy::parse(c.policy);
  const TensorMap batch = make_case_batch(c);
  const TensorMap conformed = precision::conform_batch(batch, policy);
  for (const auto& [name, in] : batch) {
    const torch::Tensor& out = conformed.at(name);
    torch::ScalarType want = in.scalar_type();
    switch (precision::field_role(name, in)) {
      case precision::FieldRole::kImage:
        want = policy.activation_dtype();
        break;
      case precision::FieldRole::kCamera:
        want = precision::island_dtype(precision::Island::kCameraProjection, policy);
        break;
      case precision::FieldRole::kLabel:
        want = precision::island_dtype(precision::Island::kLoss, policy);
        break;
      case precision::FieldRole::kKeep:
        break;
    }
    o.require(out.scalar_type() == want, name + " dtype after the boundary", "dtype",
              name + " is " + dt(out.scalar_type()) + " after conform_batch under " + c.policy +
                  ", the P1 table says " + dt(want) + " (input " + dt(in.scalar_type()) + ")");
    if (out.scalar_type() != want || name == "image") continue;
    // Values: exactly the input rounded once to the target dtype (never through a lower precision).
    const bool same = torch::equal(out.cpu(), in.to(want));
    o.require(same, name + " values after the boundary", "exact",
              name + " changed beyond one rounding to " + dt(want) + ": " + worst_element(out, in.to(want)));
  }
  return o;
}

// Task-unit comparison of a subject run against the reference (fp32) run of the same batch.
void compare_outputs(Outcome& o, const ModelRun& got, const ModelRun& want, const TensorMap& batch,
                     const std::string& policy) {
  for (const auto& [name, ref] : want.outputs) {
    const auto it = got.outputs.find(name);
    if (it == got.outputs.end()) {
      o.require(false, name, "exact", "output missing under " + policy);
      continue;
    }
    const torch::Tensor& t = it->second;
    if (name == "hand_joints" || name == "hand_joints_coarse") {
      const Measure m = point_error(t, ref, 1000.0);
      o.budget_check(name, "joints_mm", policy, m.value, m.detail);
    } else if (name == "object_positions") {
      const Measure m = point_error(t, ref, 1000.0);
      o.budget_check(name, "object_position_mm", policy, m.value, m.detail);
    } else if (name == "contact_points") {
      const Measure m = point_error(t, ref, 1000.0);
      o.budget_check(name, "contact_point_mm", policy, m.value, m.detail);
    } else if (name == "object_rotations") {
      const Measure m = rotation_error_deg(t, ref);
      o.budget_check(name, "rotation_deg", policy, m.value, m.detail);
      const Measure raw = rel_l2(t, ref);
      o.budget_check(name + " (6-D)", "head_rel_l2", policy, raw.value, raw.detail);
    } else if (model::is_feature_output(name)) {
      const Measure l2 = rel_l2(t, ref), cos = cosine_deficit(t, ref);
      o.budget_check(name, "feature_rel_l2", policy, l2.value, l2.detail);
      o.budget_check(name + " (cosine)", "feature_cos_deficit", policy, cos.value, cos.detail);
    } else {
      const Measure m = rel_l2(t, ref);
      o.budget_check(name, "head_rel_l2", policy, m.value, m.detail);
    }
  }
  // Pixels: both runs' refined joints projected with the case's own K (and E), in fp64.
  if (got.outputs.count("hand_joints") && batch.count("K")) {
    const PrecisionPolicy fp64(precision::PolicyKind::kFp64);
    const torch::Tensor K = batch.at("K").to(torch::kDouble);
    const torch::Tensor E = batch.count("E") ? batch.at("E").to(torch::kDouble) : torch::Tensor();
    const auto uv = [&](const torch::Tensor& p) {
      return precision::project_points(p.detach().to(torch::kDouble), K, E, fp64).uv;
    };
    const Measure m = point_error(uv(got.outputs.at("hand_joints")), uv(want.outputs.at("hand_joints")), 1.0);
    o.budget_check("hand_joints (uv)", "uv_px", policy, m.value, m.detail);
  }
  for (const auto& [name, ref] : want.loss.terms) {
    if (name.rfind("raw/", 0) == 0) continue;
    const auto it = got.loss.terms.find(name);
    if (it == got.loss.terms.end()) {
      o.require(false, "loss " + name, "exact", "loss term missing under " + policy);
      continue;
    }
    const Measure m = relative_scalar(it->second, ref);
    o.budget_check("loss " + name, "loss_rel", policy, m.value, m.detail);
  }
  const Measure total = relative_scalar(got.loss.total, want.loss.total);
  o.budget_check("loss total", "loss_rel", policy, total.value, total.detail);
}

Outcome run_forward(const Case& c) {
  Outcome o;
  const PrecisionPolicy policy = PrecisionPolicy::parse(c.policy);
  const TensorMap batch = make_case_batch(c);
  const ModelRun want = reference_run(c, batch);
  ModelRun got;
  try {
    got = run_model(c, batch, policy);
  } catch (const std::exception& e) {
    // No documented refusal applies to a case the generator draws (fp16 compute policies are not drawn).
    o.require(false, "forward + losses under " + c.policy, "error", describe_exception(e));
    return o;
  }
  // P5: geometric and head outputs in the output dtype, features in the compute dtype; losses in the island.
  for (const auto& [name, t] : got.outputs) {
    const torch::ScalarType expect =
        model::is_feature_output(name) ? policy.compute_dtype() : policy.output_dtype();
    o.require(t.scalar_type() == expect, name + " dtype", "dtype",
              name + " is " + dt(t.scalar_type()) + " under " + c.policy + ", docs/precision.md says " +
                  dt(expect));
  }
  const torch::ScalarType loss_dt = precision::island_dtype(precision::Island::kLoss, policy);
  o.require(got.loss.total.scalar_type() == loss_dt, "loss dtype", "dtype",
            std::string("loss total is ") + dt(got.loss.total.scalar_type()) + ", the loss island is " +
                dt(loss_dt));
  compare_outputs(o, got, want, batch, c.policy);
  return o;
}
Outcome run_backward(const Case& c) {
  Outcome o;
  const PrecisionPolicy policy = PrecisionPolicy::parse(c.policy);
  model::AmtModel& m = case_model(c, policy);
  try {
    run_model_with_gradients(c, make_case_batch(c), policy);
  } catch (const std::exception& e) {
    o.require(false, "forward + backward under " + c.policy, "error", describe_exception(e));
    return o;
  }
  // The whole model is live (unlike upstream): gradient reaches the backbone, every head and the refinement,
  // is finite, and is in the parameter dtype.
  const auto params = m->named_parameters();
  for (const char* part :
       {"encoder.backbone.", "encoder.proj", "hand.", "objects.", "contacts.", "refinement."}) {
    bool reached = false;
    for (const auto& item : params) {
      if (item.key().rfind(part, 0) == 0 && item.value().grad().defined() &&
          torch::count_nonzero(item.value().grad()).item<int64_t>() > 0) {
        reached = true;
        break;
      }
    }
    o.require(reached, std::string("gradient reaches ") + part, "exact",
              "every gradient under it is zero or undefined");
  }
  for (const auto& item : params) {
    const torch::Tensor g = item.value().grad();
    if (!g.defined()) continue;
    o.require(g.scalar_type() == policy.param_dtype(), item.key() + " gradient dtype", "dtype",
              dt(g.scalar_type()) + ", parameters are " + dt(policy.param_dtype()));
    o.require(torch::isfinite(g).all().item<bool>(), item.key() + " gradient finite", "exact", "NaN/Inf");
  }
  m->zero_grad();
  return o;
}
}  // namespace

std::vector<Property> dtype_mix_properties() {
  return {
      {"dtype_mix.boundary",
       "dtype_mix",
       "conform_batch gives image, K, E, labels and kept fields the dtype of their role (P1) and changes "
       "camera and label values by at most one rounding to it",
       {"dtype", "exact"},
       {{"boundary.image_dtype", "^image dtype after the boundary"},
        {"boundary.camera_dtype", "^(K|E) dtype after the boundary"},
        {"boundary.label_dtype", "^(joint_3d|joint_2d|grasped_pose) dtype after the boundary"}},
       40,
       [](const GenOptions& o) { return gen_dtype_case(o, "dtype_mix.boundary"); },
       run_boundary},
      {"dtype_mix.forward",
       "dtype_mix",
       "AmtModel + compute_losses under any policy and input dtypes: no exception, P5 output dtypes, every "
       "output and loss term within budget of the FP32 run of the same case (mm, px, degrees, relative L2, "
       "cosine)",
       {"joints_mm", "object_position_mm", "contact_point_mm", "uv_px", "rotation_deg", "feature_rel_l2",
        "feature_cos_deficit", "head_rel_l2", "loss_rel"},
       {{"boundary.image_dtype", "DtypeError: backbone input is|expected scalar type"},
        {"model.default_dtype_tensor",
         "expected scalar type (BFloat16 but found Float|Float but found BFloat16)|expected m1 and m2 to "
         "have "
         "the same dtype"}},
       30,
       [](const GenOptions& o) { return gen_dtype_case(o, "dtype_mix.forward"); },
       run_forward},
      {"dtype_mix.backward",
       "dtype_mix",
       "forward + compute_losses + backward under any policy and input dtypes: gradient reaches the "
       "backbone, "
       "every head and the refinement, is finite and in the parameter dtype",
       {"dtype", "exact"},
       {},
       12,
       [](const GenOptions& o) { return gen_dtype_case(o, "dtype_mix.backward"); },
       run_backward},
  };
}

}  // namespace amt::conformance
