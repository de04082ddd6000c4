#include "conformance/lib/dtype_support.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "conformance/lib/budgets.hpp"
#include "conformance/lib/case.hpp"
#include "conformance/lib/outcome.hpp"
#include "reference/core/build_info.hpp"
#include "reference/core/error.hpp"
#include "reference/io/json_file.hpp"
#include "reference/io/project_dirs.hpp"
#include "reference/precision/autocast_guard.hpp"
#include "reference/precision/policy.hpp"

namespace amt::conformance {

namespace {
namespace F = torch::nn::functional;
using Inputs = std::vector<torch::Tensor>;

struct Op {
  std::string name, what;
  std::vector<std::vector<int64_t>> shapes;  // inputs, drawn N(0,1) in fp64 (then rounded to the dtype)
  std::vector<bool> fp32_input;              // inputs that stay fp32 whatever the dtype (mixed ops)
  std::function<torch::Tensor(const Inputs&)> run;
};

const std::vector<Op>& ops() {
  static const std::vector<Op> table = {
      {"linear",
       "every Linear / SigmaLinear",
       {{4, 8}, {6, 8}, {6}},
       {},
       [](const Inputs& x) { return torch::linear(x[0], x[1], x[2]); }},
      {"matmul",
       "attention scores, projection with K",
       {{2, 4, 8}, {2, 8, 5}},
       {},
       [](const Inputs& x) { return torch::matmul(x[0], x[1]); }},
      {"matmul_fp32_rhs",
       "points against an fp32 K without a cast (seed 002)",
       {{2, 4, 3}, {2, 3, 3}},
       {false, true},
       [](const Inputs& x) { return torch::matmul(x[0], x[1]); }},
      {"conv2d",
       "patch embedding, refinement conv stack",
       {{1, 3, 8, 8}, {4, 3, 3, 3}, {4}},
       {},
       [](const Inputs& x) { return torch::conv2d(x[0], x[1], x[2], 1, 1); }},
      {"layer_norm",
       "LayerNorm, all one dtype",
       {{4, 16}, {16}, {16}},
       {},
       [](const Inputs& x) { return torch::layer_norm(x[0], {16}, x[1], x[2], 1e-6); }},
      {"layer_norm_fp32_params",
       "Linear → LayerNorm under autocast: low-precision input, fp32 weight",
       {{4, 16}, {16}, {16}},
       {false, true, true},
       [](const Inputs& x) { return torch::layer_norm(x[0], {16}, x[1], x[2], 1e-6); }},
      {"softmax", "attention", {{3, 7}}, {}, [](const Inputs& x) { return torch::softmax(x[0], -1); }},
      {"gelu", "MLP activation (erf)", {{3, 7}}, {}, [](const Inputs& x) { return torch::gelu(x[0]); }},
      {"silu", "DINOv3 gated MLP", {{3, 7}}, {}, [](const Inputs& x) { return torch::silu(x[0]); }},
      {"relu", "refinement, heads", {{3, 7}}, {}, [](const Inputs& x) { return torch::relu(x[0]); }},
      {"sigmoid", "confidences", {{3, 7}}, {}, [](const Inputs& x) { return torch::sigmoid(x[0]); }},
      {"interpolate_bicubic",
       "DINOv2 position table (37x53) to a non-integer size (29x61)",
       {{1, 4, 37, 53}},
       {},
       [](const Inputs& x) {
         return F::interpolate(x[0], F::InterpolateFuncOptions()
                                         .size(std::vector<int64_t>{29, 61})
                                         .mode(torch::kBicubic)
                                         .align_corners(false));
       }},
      {"grid_sample",
       "refinement sampling",
       {{1, 2, 6, 6}, {1, 4, 1, 2}},
       {},
       [](const Inputs& x) {
         return F::grid_sample(x[0], x[1].tanh(),
                               F::GridSampleFuncOptions().mode(torch::kBilinear).align_corners(false));
       }},
      {"mean", "masked means, pooling", {{5, 9}}, {}, [](const Inputs& x) { return x[0].mean(-1); }},
      {"vector_norm", "joint distances", {{5, 3}}, {}, [](const Inputs& x) { return x[0].norm(2, -1); }},
      {"cross",
       "6-D rotation → matrix",
       {{5, 3}, {5, 3}},
       {},
       [](const Inputs& x) { return torch::linalg_cross(x[0], x[1], -1); }},
      {"acos", "geodesic angle", {{5}}, {}, [](const Inputs& x) { return torch::acos(x[0].tanh() * 0.9); }},
      {"smooth_l1_loss",
       "reprojection and object position losses",
       {{4, 6}, {4, 6}},
       {},
       [](const Inputs& x) { return torch::smooth_l1_loss(x[0], x[1]); }},
      {"svd",
       "Procrustes (PA-MPJPE)",
       {{2, 3, 3}},
       {},
       [](const Inputs& x) { return std::get<1>(torch::linalg_svd(x[0], false)); }},
      {"inverse",
       "camera K inverse (back-projection)",
       {{2, 3, 3}},
       {},
       [](const Inputs& x) { return torch::linalg_inv(x[0] + 3.0 * torch::eye(3, x[0].options())); }},
  };
  return table;
}

// Relative L2 allowed for a result of dtype `dt`: the budget table's dtype_matrix_rel_l2 row for it.
double tolerance(torch::ScalarType dt) {
  const char* row = dt == torch::kHalf       ? "fp16"
                    : dt == torch::kBFloat16 ? "bf16"
                    : dt == torch::kFloat    ? "fp32"
                                             : "any";  // fp64, integer and bool results
  return budget("dtype_matrix_rel_l2", row).limit;
}

DtypeCell observe(const Op& op, torch::ScalarType dt, bool autocast) {
  DtypeCell cell{op.name, dtype_short_name(dt), autocast ? "autocast" : "plain", "", ""};
  at::Generator gen = at::detail::createCPUGenerator(17);
  Inputs in, ref;
  for (size_t i = 0; i < op.shapes.size(); ++i) {
    const bool fixed = i < op.fp32_input.size() && op.fp32_input[i];
    const torch::Tensor x = torch::randn(op.shapes[i], gen, torch::kDouble).to(fixed ? torch::kFloat : dt);
    in.push_back(x);
    ref.push_back(x.to(torch::kDouble));  // the same rounded values, computed in fp64
  }
  try {
    torch::Tensor out;
    {
      std::unique_ptr<precision::AutocastGuard> guard;
      if (autocast)
        guard =
            std::make_unique<precision::AutocastGuard>(precision::PrecisionPolicy::parse("bf16-autocast"));
      out = op.run(in);
    }
    const torch::Tensor want = op.run(ref);
    const double den = want.norm().item<double>();
    const double err = (out.to(torch::kDouble) - want).norm().item<double>() / (den > 0 ? den : 1.0);
    const double tol = tolerance(out.scalar_type() == torch::kDouble ? dt : out.scalar_type());
    cell.status = std::isfinite(err) && err <= std::max(tol, tolerance(dt)) ? "works" : "wrong";
    char buf[96];
    std::snprintf(buf, sizeof buf, "→ %s, rel L2 %.2g", dtype_short_name(out.scalar_type()).c_str(), err);
    cell.detail = buf;
  } catch (const c10::Error& e) {
    cell.status = "throws";
    std::string msg = e.what_without_backtrace();
    cell.detail = msg.substr(0, msg.find('\n'));
  }
  return cell;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> dtype_support_ops() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Op& op : ops()) out.emplace_back(op.name, op.what);
  return out;
}

std::vector<DtypeCell> observe_dtype_support() {
  std::vector<DtypeCell> cells;
  for (const Op& op : ops()) {
    for (torch::ScalarType dt : {torch::kHalf, torch::kBFloat16, torch::kFloat, torch::kDouble}) {
      for (bool autocast : {false, true}) cells.push_back(observe(op, dt, autocast));
    }
  }
  return cells;
}

std::string DtypeMismatch::line() const {
  return observed.op + " " + observed.dtype + "/" + observed.mode + ": " + kind + " (declared " +
         (declared.empty() ? std::string("nothing") : declared) + ", observed " + observed.status + ": " +
         observed.detail + ")";
}

std::vector<DtypeMismatch> compare_dtype_support(const std::vector<DtypeCell>& observed,
                                                 const nlohmann::json& declared) {
  std::vector<DtypeMismatch> out;
  for (const DtypeCell& c : observed) {
    const std::string key = c.dtype + "/" + c.mode;
    std::string want;
    if (declared.contains("ops") && declared.at("ops").contains(c.op) &&
        declared.at("ops").at(c.op).contains(key)) {
      want = declared.at("ops").at(c.op).at(key).get<std::string>();
    }
    if (want == c.status) continue;
    std::string kind = "changed";
    if (want.empty())
      kind = "undeclared";
    else if (c.status == "works")
      kind = "unexpected pass";
    else if (want == "works")
      kind = "unexpected failure";
    out.push_back({c, want, kind});
  }
  return out;
}

nlohmann::json dtype_support_json(const std::vector<DtypeCell>& observed) {
  nlohmann::json ops = nlohmann::json::object();
  for (const DtypeCell& c : observed) ops[c.op][c.dtype + "/" + c.mode] = c.status;
  return {
      {"format", "amt-dtype-support-1"},
      {"libtorch", libtorch_version() + " (pip wheel; CPU kernels)"},
      {"statuses", "works: within the dtype's tolerance of fp64 on the same rounded inputs; throws; wrong"},
      {"ops", ops}};
}

std::string dtype_support_markdown(const std::vector<DtypeCell>& observed) {
  std::string s =
      "# Dtype support on the linked LibTorch (CPU)\n\nGenerated by `build/amt_conformance dtypes --md "
      "docs/dtype-support.md`; checked against `conformance/data/dtype_support.json` by ctest. A cell is "
      "*works* "
      "(relative L2 against the same op in fp64 on the same rounded inputs within " +
      format_value(tolerance(torch::kHalf)) + " fp16, " + format_value(tolerance(torch::kBFloat16)) +
      " bf16, " + format_value(tolerance(torch::kFloat)) +
      " fp32: budget dtype_matrix_rel_l2), *throws* or *wrong*; *autocast* = inside CPU bf16 autocast. The "
      "output dtype and error "
      "follow.\n\n";
  s += "| op | used for | fp16 | fp16 autocast | bf16 | bf16 autocast | fp32 | fp32 autocast | fp64 | fp64 "
       "autocast |\n";
  s += "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& [name, what] : dtype_support_ops()) {
    s += "| `" + name + "` | " + what + " |";
    for (const DtypeCell& c : observed) {
      if (c.op != name) continue;
      std::string d = c.detail;
      for (char& ch : d) {
        if (ch == '|') ch = '/';
      }
      if (d.size() > 70) d = d.substr(0, 67) + "...";
      s += " " + (c.status == "works" ? std::string("works ") : "**" + c.status + "** ") + d + " |";
    }
    s += "\n";
  }
  return s;
}

std::string find_declared_dtype_support() {
  if (const char* env = std::getenv("AMT_DTYPE_SUPPORT")) return env;
  std::string looked;
  for (const std::string& d : io::project_dirs("AMT_CONFORMANCE_DATA_DIR", "conformance/data")) {
    const std::string f = d + "/dtype_support.json";
    std::error_code ec;
    if (std::filesystem::is_regular_file(f, ec)) return f;
    looked += (looked.empty() ? "" : ", ") + f;
  }
  throw IoError("conformance/data/dtype_support.json", "not found (looked in " + looked + ")");
}

nlohmann::json read_declared_dtype_support(const std::string& path) {
  const nlohmann::json j = io::load_json_file(path);
  // Compared as JSON, so a non-string format is "not amt-dtype-support-1" rather than a type error.
  if (!j.is_object() || !j.contains("format") || j.at("format") != "amt-dtype-support-1")
    throw FormatError(path, "format", "not amt-dtype-support-1");
  if (!j.contains("ops") || !j.at("ops").is_object()) throw FormatError(path, "ops", "missing");
  return j;
}

}  // namespace amt::conformance
