#include "conformance/lib/precision_probe.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "conformance/lib/case.hpp"
#include "conformance/lib/outcome.hpp"
#include "reference/core/error.hpp"
#include "reference/io/curves_png.hpp"
#include "reference/io/json_file.hpp"
#include "reference/model/forward_batch.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/islands.hpp"
#include "reference/precision/module_scope.hpp"

namespace amt::conformance {

using precision::PolicyKind;
using precision::PrecisionPlan;
using precision::PrecisionPolicy;

ProbeSubject make_probe_subject(const std::string& config, const std::string& weights, uint64_t seed,
                                const std::string& input) {
  ProbeSubject s;
  s.config = model::load_amt_config(config);
  s.weights = weights;
  s.seed = seed;
  if (!input.empty()) {
    s.batch = model::read_forward_batch(input);
    s.batch_source = input;
    return s;
  }
  // A rectangular grid (5 × 7 patch cells, times the projector's factor) so position interpolation and the
  // token projector run as on real images; uint8 pixels as the data pipeline delivers them.
  Case c;
  c.property = "probe";
  c.config = config;
  c.batch = 2;
  c.image_dtype = torch::kByte;
  c.seed = seed;
  const int64_t q = s.config.backbone.patch_size * s.config.token_shuffle;
  c.height = 5 * q;
  c.width = 7 * q;
  const TensorMap full = make_case_batch(c);
  s.batch = {{"image", full.at("image")}, {"K", full.at("K")}};
  s.batch_source = "generated " + std::to_string(c.batch) + "x3x" + std::to_string(c.height) + "x" +
                   std::to_string(c.width) + " u8, seed " + std::to_string(seed);
  return s;
}

PlanRunner::PlanRunner(const ProbeSubject& subject) : subject_(subject) {
  const PrecisionPolicy fp32(PolicyKind::kFp32);
  model_ = model::make_amt_model(subject.config, subject.seed, fp32);
  if (!subject.weights.empty()) model::load_amt_weights(*model_, subject.weights, fp32);
  model_->eval();
  for (const auto& p : model_->parameters()) master_.push_back(p.detach().clone());
  for (const auto& b : model_->buffers()) master_.push_back(b.detach().clone());
}

TensorMap PlanRunner::run(const PrecisionPlan& plan) {
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (auto& p : model_->parameters()) p.set_data(master_[i++].clone());
  for (auto& b : model_->buffers()) b.set_data(master_[i++].clone());
  precision::apply_param_dtype(*model_, plan);
  ++runs_;
  return model_->forward(precision::conform_batch(subject_.batch, plan.policy()), plan);
}

// --- task errors -------------------------------------------------------------------------------------------

const std::vector<std::pair<std::string, std::string>>& task_outputs() {
  static const std::vector<std::pair<std::string, std::string>> outputs = {
      {"hand_joints", "mm"},      {"hand_joints_coarse", "mm"}, {"hand_joints_uv", "px"},
      {"object_positions", "mm"}, {"contact_points", "mm"},     {"object_rotations", "deg"}};
  return outputs;
}

std::vector<TaskError> task_errors(const TensorMap& actual, const TensorMap& reference,
                                   const TensorMap& batch) {
  std::vector<TaskError> out;
  const PrecisionPolicy fp64(PolicyKind::kFp64);
  const auto f64 = [](const torch::Tensor& t) { return t.detach().to(torch::kCPU, torch::kDouble); };
  const torch::Tensor K = f64(batch.at("K"));
  const torch::Tensor E = batch.count("E") ? f64(batch.at("E")) : torch::Tensor();
  for (const auto& [name, unit] : task_outputs()) {
    TaskError e{name, unit, 0.0};
    if (name == "hand_joints_uv") {
      const auto uv = [&](const torch::Tensor& p) {
        return precision::project_points(f64(p), K, E, fp64).uv;
      };
      e.max = point_error(uv(actual.at("hand_joints")), uv(reference.at("hand_joints")), 1.0).value;
    } else if (name == "object_rotations") {
      e.max = rotation_error_deg(actual.at(name), reference.at(name)).value;
    } else {
      e.max = point_error(actual.at(name), reference.at(name), 1000.0).value;
    }
    out.push_back(e);
  }
  return out;
}

// --- the ledger --------------------------------------------------------------------------------------------

namespace {

struct Call {
  std::string path;
  int64_t call = 0;
  std::vector<torch::Tensor> inputs, outputs;
};

// Records every watched module's inputs and outputs; with a teacher, substitutes the teacher's inputs (cast
// to what the module would have received) for the modules at `force_depth`.
class RecordingTap : public precision::ModuleTap {
 public:
  RecordingTap(const RecordingTap* teacher = nullptr, const std::map<std::string, int>* depth = nullptr,
               int force_depth = -1)
      : teacher_(teacher), depth_(depth), force_depth_(force_depth) {}

  void on_enter(const std::string& path, int64_t call) override {
    where_[{path, call}] = calls.size();
    calls.push_back({path, call, {}, {}});
  }
  torch::Tensor on_input(const std::string& path, int64_t call, int64_t index,
                         const torch::Tensor& x) override {
    torch::Tensor v = x;
    if (teacher_ && depth_->at(path) == force_depth_) {
      const Call& t = teacher_->find(path, call);
      if (index < static_cast<int64_t>(t.inputs.size())) v = t.inputs[index].to(x.options());
    }
    if (!teacher_) calls[where_.at({path, call})].inputs.push_back(v.detach().clone());
    return v;
  }
  void on_output(const std::string& path, int64_t call, int64_t, const torch::Tensor& y) override {
    calls[where_.at({path, call})].outputs.push_back(y.detach().clone());
  }

  const Call& find(const std::string& path, int64_t call) const {
    const auto it = where_.find({path, call});
    if (it == where_.end()) {
      throw Error("probe: module " + path + " call " + std::to_string(call) +
                  " ran in one run and not in another");
    }
    return calls[it->second];
  }

  std::vector<Call> calls;

 private:
  const RecordingTap* teacher_;
  const std::map<std::string, int>* depth_;
  int force_depth_;
  std::map<std::pair<std::string, int64_t>, size_t> where_;
};

TensorMap run_tapped(PlanRunner& runner, const PrecisionPlan& plan, RecordingTap& tap) {
  precision::TapScope scope(tap);
  return runner.run(plan);
}

// Worst relative L2 and smallest cosine over a module's outputs.
std::pair<double, double> output_error(const Call& got, const Call& want) {
  double worst = 0.0, cos = 1.0;
  for (size_t i = 0; i < got.outputs.size() && i < want.outputs.size(); ++i) {
    if (got.outputs[i].numel() == 0) continue;
    worst = std::max(worst, rel_l2(got.outputs[i], want.outputs[i]).value);
    cos = std::min(cos, 1.0 - cosine_deficit(got.outputs[i], want.outputs[i]).value);
  }
  return {worst, cos};
}

}  // namespace

Ledger probe_ledger(PlanRunner& runner, const PrecisionPlan& plan) {
  const int64_t runs_before = runner.runs();
  Ledger ledger;
  ledger.plan = plan.name();
  ledger.config = runner.subject().config.name;
  ledger.batch_source = runner.subject().batch_source;

  RecordingTap fp64_tap;
  const TensorMap fp64_out = run_tapped(runner, PrecisionPolicy(PolicyKind::kFp64), fp64_tap);
  std::map<std::string, int> depth;
  int max_depth = 0;
  for (const Call& c : fp64_tap.calls) {
    int d = 0;
    for (const Call& o : fp64_tap.calls)
      d += (o.call == 0 && precision::contains_module(o.path, c.path)) ? 1 : 0;
    depth[c.path] = d;
    max_depth = std::max(max_depth, d);
  }

  RecordingTap plan_tap;
  const TensorMap plan_out = run_tapped(runner, plan, plan_tap);
  std::vector<RecordingTap> forced;
  forced.reserve(max_depth + 1);
  for (int d = 0; d <= max_depth; ++d) {
    forced.emplace_back(&fp64_tap, &depth, d);
    run_tapped(runner, plan, forced.back());
  }

  for (const Call& ref : fp64_tap.calls) {
    LedgerRow row;
    row.module = ref.path + (ref.call > 0 ? "#" + std::to_string(ref.call) : "");
    row.depth = depth.at(ref.path);
    const Call& got = plan_tap.find(ref.path, ref.call);
    row.dtype = got.outputs.empty() ? "-" : c10::toString(got.outputs.front().scalar_type());
    std::tie(row.rel_l2, row.min_cos) = output_error(got, ref);
    row.added_rel_l2 = output_error(forced[row.depth].find(ref.path, ref.call), ref).first;
    ledger.rows.push_back(row);
  }
  ledger.task = task_errors(plan_out, fp64_out, runner.subject().batch);
  ledger.runs = runner.runs() - runs_before;
  return ledger;
}

std::vector<std::string> ranked_modules(const Ledger& ledger) {
  std::vector<const LedgerRow*> rows;
  for (const auto& r : ledger.rows) {
    if (r.module.find('#') == std::string::npos) rows.push_back(&r);
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const LedgerRow* a, const LedgerRow* b) { return a->added_rel_l2 > b->added_rel_l2; });
  std::vector<std::string> out;
  for (const auto* r : rows) out.push_back(r->module);
  return out;
}

std::vector<Growth> ranked_by_growth(const Ledger& ledger, const Ledger& baseline) {
  const auto differ = [](const char* field, const std::string& a, const std::string& b) {
    if (a != b)
      throw ConfigError("baseline ledger is of another " + std::string(field) + ": '" + b + "', this run '" +
                        a + "'");
  };
  differ("config", ledger.config, baseline.config);
  differ("batch", ledger.batch_source, baseline.batch_source);
  differ("plan", ledger.plan, baseline.plan);
  std::map<std::string, const LedgerRow*> base;
  for (const auto& r : baseline.rows) base[r.module] = &r;
  constexpr double kFloor = 1e-9;
  std::vector<Growth> out;
  for (const auto& r : ledger.rows) {
    if (r.module.find('#') != std::string::npos) continue;  // a repeated call: its first call stands for it
    const auto it = base.find(r.module);
    if (it == base.end()) continue;
    const double base_added = it->second->added_rel_l2;
    const double ratio = (r.added_rel_l2 + kFloor) / (base_added + kFloor);
    out.push_back({r.module, r.depth, base_added, r.added_rel_l2, ratio,
                   std::abs(ratio - 1.0) > kGrowthChangeTolerance, /*innermost=*/false});
  }
  // "model" is the root (its children's paths do not start with "model."); otherwise a path prefix.
  const auto inside = [](const std::string& outer, const std::string& inner) {
    return outer != inner && (outer == "model" || inner.rfind(outer + ".", 0) == 0);
  };
  for (auto& g : out) {
    g.innermost = g.changed && std::none_of(out.begin(), out.end(), [&](const Growth& h) {
                    return h.changed && inside(g.module, h.module);
                  });
  }
  std::stable_sort(out.begin(), out.end(), [](const Growth& a, const Growth& b) {
    if (a.innermost != b.innermost) return a.innermost;
    return std::abs(std::log(a.ratio)) > std::abs(std::log(b.ratio));
  });
  return out;
}

// --- reports -----------------------------------------------------------------------------------------------

nlohmann::json ledger_to_json(const Ledger& ledger) {
  nlohmann::json j;
  j["plan"] = ledger.plan;
  j["config"] = ledger.config;
  j["batch"] = ledger.batch_source;
  j["reference"] = "fp64";
  j["runs"] = ledger.runs;
  j["modules"] = nlohmann::json::array();
  for (const auto& r : ledger.rows) {
    j["modules"].push_back({{"module", r.module},
                            {"depth", r.depth},
                            {"dtype", r.dtype},
                            {"rel_l2", r.rel_l2},
                            {"min_cos", r.min_cos},
                            {"added_rel_l2", r.added_rel_l2}});
  }
  j["task"] = nlohmann::json::array();
  for (const auto& t : ledger.task)
    j["task"].push_back({{"output", t.output}, {"unit", t.unit}, {"max", t.max}});
  return j;
}

namespace {
Ledger ledger_from_json(const nlohmann::json& j, const std::string& file, const std::string& where) {
  Ledger l;
  l.plan = io::json_field<std::string>(j, "plan", file, where);
  l.config = io::json_field<std::string>(j, "config", file, where);
  l.batch_source = io::json_field<std::string>(j, "batch", file, where);
  l.runs = io::json_field<int64_t>(j, "runs", file, where);
  const auto modules = io::json_field<nlohmann::json>(j, "modules", file, where);
  if (!modules.is_array()) throw FormatError(file, where + ".modules", "is not an array");
  for (size_t i = 0; i < modules.size(); ++i) {
    const std::string at = where + ".modules[" + std::to_string(i) + "]";
    LedgerRow r;
    r.module = io::json_field<std::string>(modules[i], "module", file, at);
    r.depth = io::json_field<int>(modules[i], "depth", file, at);
    r.dtype = io::json_field<std::string>(modules[i], "dtype", file, at);
    r.rel_l2 = io::json_field<double>(modules[i], "rel_l2", file, at);
    r.min_cos = io::json_field<double>(modules[i], "min_cos", file, at);
    r.added_rel_l2 = io::json_field<double>(modules[i], "added_rel_l2", file, at);
    if (!std::isfinite(r.added_rel_l2) || r.added_rel_l2 < 0)
      throw FormatError(file, at + ".added_rel_l2", "must be a finite number >= 0");
    l.rows.push_back(r);
  }
  return l;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string indent(int depth) {
  return std::string(static_cast<size_t>(2 * depth), ' ');
}
}  // namespace

std::string ledger_table(const Ledger& ledger) {
  size_t width = 6;
  for (const auto& r : ledger.rows) width = std::max(width, r.module.size() + 2 * r.depth);
  std::ostringstream os;
  os << "ledger: " << ledger.plan << " vs fp64, " << ledger.config << ", " << ledger.batch_source << " ("
     << ledger.runs << " forwards)\n";
  os << std::string(4, ' ') << "  " << std::left;
  os.width(static_cast<std::streamsize>(width));
  os << "module"
     << "  dtype      rel_l2     min_cos    added_rel_l2\n";
  int i = 0;
  for (const auto& r : ledger.rows) {
    os << fmt("%4.0f", ++i) << "  ";
    os.width(static_cast<std::streamsize>(width));
    os << (indent(r.depth) + r.module) << "  ";
    os.width(9);
    os << r.dtype << "  " << fmt("%-9.3e", r.rel_l2) << "  " << fmt("%-9.6f", r.min_cos) << "  "
       << fmt("%.3e", r.added_rel_l2) << "\n";
  }
  os << "task outputs vs fp64 (max):";
  for (const auto& t : ledger.task) os << "  " << t.output << " " << format_value(t.max) << " " << t.unit;
  os << "\n";
  return os.str();
}

Ledger ledger_from_json_file(const std::string& file, const std::string& plan) {
  nlohmann::json j = io::load_json_file(file);
  if (!j.is_array()) j = nlohmann::json::array({j});
  std::string plans;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string where = "[" + std::to_string(i) + "]";
    const auto name = io::json_field<std::string>(j[i], "plan", file, where);
    if (name == plan) return ledger_from_json(j[i], file, where);
    plans += (plans.empty() ? "" : ", ") + name;
  }
  throw FormatError(file, "plan", "no ledger of plan '" + plan + "' (it holds: " + plans + ")");
}

std::string growth_table(const std::vector<Growth>& growth, const std::string& baseline, size_t top) {
  std::ostringstream os;
  os << "added error vs " << baseline << ", innermost changed modules first (*):\n";
  os << "        ratio  added      baseline   module\n";
  for (size_t i = 0; i < std::min(top, growth.size()); ++i) {
    const Growth& g = growth[i];
    os << fmt("%4.0f", static_cast<double>(i + 1)) << (g.innermost ? " *" : "  ") << fmt("%7.3fx", g.ratio)
       << "  " << fmt("%.3e", g.added) << "  " << fmt("%.3e", g.baseline_added) << "  " << g.module << "\n";
  }
  const auto changed = std::count_if(growth.begin(), growth.end(), [](const Growth& g) { return g.changed; });
  os << changed << " of " << growth.size() << " modules changed by more than "
     << fmt("%.0f", 100 * kGrowthChangeTolerance) << " %\n";
  return os.str();
}

nlohmann::json growth_to_json(const std::vector<Growth>& growth, const std::string& baseline) {
  nlohmann::json j;
  j["baseline"] = baseline;
  j["modules"] = nlohmann::json::array();
  for (const auto& g : growth)
    j["modules"].push_back({{"module", g.module},
                            {"depth", g.depth},
                            {"added_rel_l2", g.added},
                            {"baseline_added_rel_l2", g.baseline_added},
                            {"ratio", g.ratio},
                            {"changed", g.changed},
                            {"innermost", g.innermost}});
  return j;
}

std::string ledger_markdown(const std::vector<Ledger>& ledgers) {
  std::ostringstream os;
  for (const auto& l : ledgers) {
    os << "### " << l.plan << " vs fp64 (" << l.config << ", " << l.batch_source << ")\n\n";
    os << "| # | module | dtype | rel L2 | min cos | added rel L2 |\n|---:|---|---|---:|---:|---:|\n";
    int i = 0;
    for (const auto& r : l.rows) {
      os << "| " << ++i << " | " << std::string(static_cast<size_t>(r.depth), '.') << "`" << r.module
         << "` | " << r.dtype << " | " << format_value(r.rel_l2) << " | " << fmt("%.6f", r.min_cos) << " | "
         << format_value(r.added_rel_l2) << " |\n";
    }
    os << "\n| output | max error vs fp64 |\n|---|---:|\n";
    for (const auto& t : l.task)
      os << "| " << t.output << " | " << format_value(t.max) << " " << t.unit << " |\n";
    os << "\n";
  }
  return os.str();
}

void write_ledger_png(const std::string& path, const std::vector<Ledger>& ledgers) {
  io::Panel out{"output error vs fp64 per module (execution order)", "module #", "relative L2", {}, true};
  io::Panel added{"error each module adds (fed the fp64 inputs)", "module #", "relative L2", {}, true};
  for (const auto& l : ledgers) {
    io::Series a{l.plan, {}, {}}, b{l.plan, {}, {}};
    for (size_t i = 0; i < l.rows.size(); ++i) {
      a.x.push_back(static_cast<double>(i + 1));
      a.y.push_back(l.rows[i].rel_l2);
      b.x.push_back(static_cast<double>(i + 1));
      b.y.push_back(l.rows[i].added_rel_l2);
    }
    out.series.push_back(a);
    added.series.push_back(b);
  }
  io::write_curves_png(path, {out, added}, 900, 360);
}

}  // namespace amt::conformance
