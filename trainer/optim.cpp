#include "trainer/optim.hpp"

#include <torch/torch.h>

#include <cmath>
#include <regex>

#include "reference/core/error.hpp"

namespace amt::trainer {
namespace {

const char* const kBackbonePrefix = "encoder.backbone.";

const torch::Tensor& need(const TensorMap& m, const std::string& key, const std::string& source) {
  const auto it = m.find(key);
  if (it == m.end()) throw CheckpointError(source + ": tensor '" + key + "' is missing");
  return it->second;
}

void need_shape(const torch::Tensor& t, const torch::Tensor& like, const std::string& key,
                const std::string& source) {
  if (t.sizes() != like.sizes()) {
    throw CheckpointError(source + ": tensor '" + key + "' is " + c10::str(t.sizes()) + ", the model's is " +
                          c10::str(like.sizes()));
  }
}

}  // namespace

bool is_backbone_param(const std::string& name) {
  return name.rfind(kBackbonePrefix, 0) == 0;
}

int64_t backbone_block_index(const std::string& name) {
  static const std::regex block(R"(^encoder\.backbone\.(?:encoder\.)?layer\.(\d+)\.)");
  std::smatch m;
  if (!std::regex_search(name, m, block)) return -1;
  return std::stoll(m[1].str());
}

bool is_weight_decayed(const std::string& name, const torch::Tensor& p) {
  static const std::string suffix = ".weight";
  return p.dim() >= 2 && name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TrainingOptimizer::TrainingOptimizer(model::AmtModelImpl& model, const TrainConfig& c) {
  std::vector<torch::Tensor> backbone, backbone_no_decay, heads, heads_no_decay;
  for (const auto& item : model.named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor p = item.value();
    const int64_t block = backbone_block_index(name);
    const bool embedding = name.rfind(std::string(kBackbonePrefix) + "embeddings.", 0) == 0;
    const bool frozen = c.freeze_blocks > 0 && ((block >= 0 && block < c.freeze_blocks) || embedding);
    if (frozen) {
      p.requires_grad_(false);
      frozen_ += p.numel();
      continue;
    }
    const bool decayed = c.decay_every_parameter || is_weight_decayed(name, p);
    if (is_backbone_param(name)) {
      (decayed ? backbone : backbone_no_decay).push_back(p);
    } else {
      (decayed ? heads : heads_no_decay).push_back(p);
    }
    params_.emplace_back(name, p);
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  const auto add = [&](const std::string& part, const std::string& name, std::vector<torch::Tensor> params,
                       double lr, double wd) {
    if (params.empty()) return;
    auto options = std::make_unique<torch::optim::AdamWOptions>(lr);
    options->weight_decay(wd);
    groups.emplace_back(std::move(params), std::move(options));
    group_names_.push_back(name);
    lr_names_.push_back(part);
    base_lr_.push_back(lr);
  };
  const double backbone_lr = c.lr * c.backbone_lr_factor;
  add("backbone", "backbone", backbone, backbone_lr, c.backbone_weight_decay);
  add("backbone", "backbone/no_decay", backbone_no_decay, backbone_lr, 0.0);
  add("heads", "heads", heads, c.lr, c.weight_decay);
  add("heads", "heads/no_decay", heads_no_decay, c.lr, 0.0);
  if (groups.empty()) throw ConfigError("optim.freeze_blocks: every parameter is frozen, nothing to train");
  adamw_ = std::make_unique<torch::optim::AdamW>(std::move(groups), torch::optim::AdamWOptions(c.lr));
}

void TrainingOptimizer::set_lr_factor(double factor) {
  auto& groups = adamw_->param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    static_cast<torch::optim::AdamWOptions&>(groups[g].options()).lr(base_lr_[g] * factor);
  }
}

std::map<std::string, double> TrainingOptimizer::lrs() const {
  std::map<std::string, double> out;
  const auto& groups = adamw_->param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    out["lr/" + lr_names_[g]] = static_cast<const torch::optim::AdamWOptions&>(groups[g].options()).lr();
  }
  return out;
}

int64_t TrainingOptimizer::trainable_parameters() const {
  int64_t n = 0;
  for (const auto& [name, p] : params_) n += p.numel();
  return n;
}

TensorMap TrainingOptimizer::state_tensors() const {
  TensorMap out;
  const auto& state = adamw_->state();  // keyed by the parameter's TensorImpl* (LibTorch 2.x)
  for (const auto& [name, p] : params_) {
    const auto it = state.find(p.unsafeGetTensorImpl());
    if (it == state.end()) continue;  // no step taken yet for this parameter
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    out["exp_avg/" + name] = s.exp_avg();
    out["exp_avg_sq/" + name] = s.exp_avg_sq();
    out["step/" + name] = torch::tensor(s.step(), torch::kInt64);
  }
  return out;
}

void TrainingOptimizer::load_state_tensors(const TensorMap& state, const std::string& source) {
  auto& target = adamw_->state();
  target.clear();
  for (const auto& [name, p] : params_) {
    if (state.count("step/" + name) == 0) continue;  // never stepped (e.g. saved before the first step)
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(need(state, "step/" + name, source).item<int64_t>());
    const torch::Tensor& m = need(state, "exp_avg/" + name, source);
    const torch::Tensor& v = need(state, "exp_avg_sq/" + name, source);
    need_shape(m, p, "exp_avg/" + name, source);
    need_shape(v, p, "exp_avg_sq/" + name, source);
    s->exp_avg(m.to(p.options()).clone());
    s->exp_avg_sq(v.to(p.options()).clone());
    target[p.unsafeGetTensorImpl()] = std::move(s);
  }
}

double lr_factor(const Schedule& s, int64_t step) {
  if (step < s.warmup_steps) return static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  double t = static_cast<double>(step - s.warmup_steps);
  double cycle = s.cycle_steps > 0
                     ? static_cast<double>(s.cycle_steps)
                     : static_cast<double>(std::max<int64_t>(1, s.total_steps - s.warmup_steps));
  while (t >= cycle) {  // restarts
    t -= cycle;
    cycle *= s.restart_mult;
  }
  const double pi = std::acos(-1.0);
  return s.min_lr_ratio + (1.0 - s.min_lr_ratio) * 0.5 * (1.0 + std::cos(pi * t / cycle));
}

Ema::Ema(model::AmtModelImpl& model, double decay) : decay_(decay) {
  torch::NoGradGuard no_grad;
  for (const auto& item : model.named_parameters()) {
    if (!item.value().requires_grad()) continue;
    const auto dtype = item.value().scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
    shadow_[item.key()] = item.value().detach().to(dtype).clone();
  }
}

void Ema::update(model::AmtModelImpl& model) {
  torch::NoGradGuard no_grad;
  const double n = static_cast<double>(updates_);
  const double d = std::min(decay_, (1.0 + n) / (10.0 + n));
  for (const auto& item : model.named_parameters()) {
    auto it = shadow_.find(item.key());
    if (it == shadow_.end()) continue;
    it->second.mul_(d).add_(item.value().detach().to(it->second.scalar_type()), 1.0 - d);
  }
  ++updates_;
}

void Ema::apply(model::AmtModelImpl& model) {
  torch::NoGradGuard no_grad;
  backup_.clear();
  for (auto& item : model.named_parameters()) {
    auto it = shadow_.find(item.key());
    if (it == shadow_.end()) continue;
    backup_[item.key()] = item.value().detach().clone();
    item.value().copy_(it->second);
  }
}

void Ema::restore(model::AmtModelImpl& model) {
  torch::NoGradGuard no_grad;
  for (auto& item : model.named_parameters()) {
    auto it = backup_.find(item.key());
    if (it != backup_.end()) item.value().copy_(it->second);
  }
  backup_.clear();
}

TensorMap Ema::state_tensors() const {
  TensorMap out;
  for (const auto& [name, t] : shadow_) out["ema/" + name] = t;
  out["ema_updates"] = torch::tensor(updates_, torch::kInt64);
  return out;
}

void Ema::load_state_tensors(const TensorMap& state, const std::string& source) {
  for (auto& [name, t] : shadow_) {
    const torch::Tensor& saved = need(state, "ema/" + name, source);
    need_shape(saved, t, "ema/" + name, source);
    t = saved.to(t.scalar_type()).clone();
  }
  updates_ = need(state, "ema_updates", source).item<int64_t>();
}

}  // namespace amt::trainer
