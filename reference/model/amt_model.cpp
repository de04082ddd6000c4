#include "reference/model/amt_model.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "reference/core/error.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/model/weights_loader.hpp"
#include "reference/precision/autocast_guard.hpp"
#include "reference/precision/islands.hpp"
#include "reference/precision/module_scope.hpp"
#include "reference/precision/plan.hpp"

namespace amt::model {

AmtModelImpl::AmtModelImpl(const AmtConfig& cfg, uint64_t seed, std::shared_ptr<Backbone> backbone)
    : cfg_(cfg) {
  if (!backbone) backbone = make_backbone(cfg.backbone, seed);
  if (backbone->config().hidden_size != cfg.dim()) {
    throw ConfigError(cfg.name + ": backbone width " + std::to_string(backbone->config().hidden_size) +
                      " differs from the config's " + std::to_string(cfg.dim()));
  }
  const int64_t d = cfg.dim();
  encoder = register_module("encoder", ImageEncoder(std::move(backbone), cfg.dropout));
  if (cfg.token_shuffle > 1) {
    projector = register_module("projector", vision::TokenProjector(d, cfg.token_shuffle));
  }
  hand = register_module("hand", HandHead(d, cfg.hand, cfg.dropout));
  objects = register_module("objects", ObjectDecoder(d, cfg.object, cfg.dropout, cfg.hand.init_depth));
  fusion = register_module("fusion", Fusion(d, cfg.fusion_heads));
  contacts = register_module(
      "contacts", ContactDecoder(d, HandHeadImpl::kJoints, cfg.object.queries, cfg.contact, cfg.dropout));
  refinement = register_module("refinement", PixelRefinement(d, cfg.refinement, cfg.dropout));
  init_heads(seed);
}

// Upstream's _init_weights for every module *outside the backbone* (xavier_uniform gain √2 for Linear,
// kaiming_normal fan_out for conv, LayerNorm 1/0), then the head-specific inits upstream intended but
// overwrote (docs/deviations.md). The backbone is skipped: pretrained weights are never touched.
void AmtModelImpl::init_heads(uint64_t seed) {
  torch::NoGradGuard no_grad;
  // Offset the stream so heads and a make_backbone(seed) backbone do not share random numbers.
  at::Generator gen = at::detail::createCPUGenerator(seed ^ 0x9e3779b97f4a7c15ULL);
  auto xavier = [&](torch::Tensor& w, double gain) {
    const double fan_out = static_cast<double>(w.size(0)), fan_in = static_cast<double>(w.size(1));
    const double bound = gain * std::sqrt(6.0 / (fan_in + fan_out));
    w.uniform_(-bound, bound, gen);
  };
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    const std::string& name = item.key();
    if (name.rfind("encoder.backbone", 0) == 0) continue;
    torch::nn::Module* m = item.value().get();
    if (auto* l = dynamic_cast<torch::nn::LinearImpl*>(m)) {
      xavier(l->weight, std::sqrt(2.0));
      if (l->bias.defined()) l->bias.zero_();
    } else if (auto* s = dynamic_cast<SigmaLinearImpl*>(m)) {
      xavier(s->weight, std::sqrt(2.0));
      if (s->bias.defined()) s->bias.zero_();
      s->sigma.fill_(1.0);
    } else if (auto* c = dynamic_cast<torch::nn::Conv2dImpl*>(m)) {
      const double fan_out = static_cast<double>(c->weight.size(0) * c->weight.size(2) * c->weight.size(3));
      c->weight.normal_(0.0, std::sqrt(2.0 / fan_out), gen);
      if (c->bias.defined()) c->bias.zero_();
    } else if (auto* n = dynamic_cast<LayerNormImpl*>(m)) {
      n->weight.fill_(1.0);
      n->bias.zero_();
    }
  }
  encoder->task_embedding.normal_(0.0, 0.02, gen);
  objects->queries.normal_(0.0, 0.02, gen);
  contacts->queries.normal_(0.0, 0.02, gen);
  // Regression heads start near their anchors. Joints: N(0, 0.001²) — upstream's HandEncoder intended
  // N(0, 0.01²), which with our widths puts the untrained residual at ~0.1–0.3 m; the bf16 trunk's ~1 %
  // relative error on a residual that size is 3–5 mm (docs/model.md, "bf16-autocast accuracy").
  // Refinement offsets N(0, 0.001²) so an untrained step moves points by millimetres, not metres.
  hand->joint1->weight.normal_(0.0, 1e-3, gen);
  hand->conf1->bias.fill_(2.0);
  hand->shape1->weight.normal_(0.0, 0.01, gen);
  objects->pos1->weight.normal_(0.0, 0.01, gen);
  contacts->point_head->weight.normal_(0.0, 0.01, gen);
  for (const auto& o : *refinement->offset) o->as<torch::nn::Linear>()->weight.normal_(0.0, 1e-3, gen);
}

// The batch's image, K and E, checked against each other and against the parameters' dtype.
AmtModelImpl::Inputs AmtModelImpl::check_inputs(const TensorMap& batch,
                                                const precision::PrecisionPlan& plan) const {
  auto find = [&](const char* key) -> torch::Tensor {
    const auto it = batch.find(key);
    return it == batch.end() ? torch::Tensor() : it->second;
  };
  Inputs in{find("image"), find("K"), find("E")};
  const torch::Tensor& image = in.image;
  if (!image.defined()) throw ValueError("AmtModel::forward: the batch has no 'image'");
  if (image.dim() != 4)
    throw ShapeError("AmtModel::forward: image must be [B,3,H,W], got " + c10::str(image.sizes()));
  const int64_t B = image.size(0);
  const torch::Tensor& K = in.K;
  const torch::Tensor& E = in.E;
  if (K.defined() && (K.dim() != 3 || K.size(0) != B || K.size(1) != 3 || K.size(2) != 3)) {
    throw ShapeError("AmtModel::forward: K must be [" + std::to_string(B) + ",3,3], got " +
                     c10::str(K.sizes()));
  }
  if (E.defined() && (E.dim() != 3 || E.size(0) != B || E.size(1) != 4 || E.size(2) != 4)) {
    throw ShapeError("AmtModel::forward: E must be [" + std::to_string(B) + ",4,4], got " +
                     c10::str(E.sizes()));
  }
  const torch::ScalarType hand_dtype = plan.policy_for("hand").param_dtype();
  if (hand->anchor.scalar_type() != hand_dtype) {
    throw DtypeError(std::string("AmtModel::forward: parameters are ") +
                     c10::toString(hand->anchor.scalar_type()) + " but plan " + plan.name() + " expects " +
                     c10::toString(hand_dtype) + " (use make_amt_model or precision::apply_param_dtype)");
  }
  return in;
}

// The object decoder's memory: the patch tokens, through the token projector when there is one.
torch::Tensor AmtModelImpl::object_memory(const EncoderOutput& encoded,
                                          const precision::PrecisionPolicy& policy) {
  if (!projector) return encoded.patch;
  // The token projector (vision layer) takes no policy; its scope is opened here on its behalf.
  precision::ModuleScope projector_scope(*projector, policy);
  return projector_scope.output(
      projector->forward(projector_scope.input(encoded.patch), encoded.Hp, encoded.Wp));
}

// The heads in upstream's order (each module's scope reports in execution order to a probe's tap).
AmtModelImpl::Heads AmtModelImpl::forward_heads(const EncoderOutput& encoded, const Inputs& in,
                                                const precision::PrecisionPolicy& policy) {
  Heads h;
  h.hand = hand->forward(encoded.cls, policy);
  h.memory = object_memory(encoded, policy);
  h.objects = objects->forward(h.memory, policy);
  if (cfg_.hand.crop_box_m > 0) {
    if (!in.K.defined()) throw ValueError("AmtModel::forward: a hand-crop model (crop_box_m > 0) needs K");
    const torch::Tensor offset =
        precision::crop_ray_offset(in.K, in.image.size(2), in.image.size(3), cfg_.hand.crop_box_m,
                                   cfg_.hand.init_depth, policy)
            .unsqueeze(1);
    h.hand.joints = h.hand.joints + offset;
    h.objects.positions = h.objects.positions + offset;
  }
  h.global = fusion->forward(encoded.cls, h.hand.features, h.objects.features.mean(1), policy);
  h.contacts = contacts->forward(h.global, h.hand.joints, h.objects.positions, policy);
  if (in.K.defined()) {
    h.refined = refinement->forward(h.hand.joints, encoded.grid, in.K, in.E,
                                    vision::ImageSize{in.image.size(2), in.image.size(3)}, policy);
  }
  return h;
}

// Upstream's flat output keys; without K, hand_joints are the coarse joints (no refinement).
TensorMap AmtModelImpl::output_map(const EncoderOutput& encoded, const Heads& h) {
  TensorMap out;
  out["hand_joints_coarse"] = h.hand.joints;
  out["hand_confidence"] = h.hand.confidence;
  out["hand_shape"] = h.hand.shape;
  out["hand_joints"] = h.refined.points.defined() ? h.refined.points : h.hand.joints;
  if (h.refined.points.defined()) out["refinement_confidence"] = h.refined.confidence;
  out["object_positions"] = h.objects.positions;
  out["object_rotations"] = h.objects.rotations;
  out["object_confidence"] = h.objects.confidence;
  out["object_class_logits"] = h.objects.class_logits;
  out["contact_points"] = h.contacts.points;
  out["contact_confidence"] = h.contacts.confidence;
  out["contact_types"] = h.contacts.types;
  out["contact_forces"] = h.contacts.forces;
  out["interaction_type"] = h.contacts.interaction_type;
  out["features/cls"] = encoded.cls;
  out["features/global"] = h.global;
  out["features/hand"] = h.hand.features;
  return out;
}

void AmtModelImpl::record_probes(const EncoderOutput& encoded, const Heads& h, TensorMap& probes) const {
  probes["backbone.cls"] = encoded.backbone_cls;
  probes["backbone.patch"] = encoded.backbone_patch;
  probes["encoder.cls"] = encoded.cls;
  probes["encoder.patch"] = encoded.patch;
  if (projector) probes["projector.memory"] = h.memory;
  probes["hand.joints"] = h.hand.joints;
  probes["hand.features"] = h.hand.features;
  probes["objects.features"] = h.objects.features;
  probes["objects.positions"] = h.objects.positions;
  probes["fusion.global"] = h.global;
  probes["contacts.points"] = h.contacts.points;
  for (size_t s = 0; s < h.refined.steps.size(); ++s) {
    probes["refinement.step" + std::to_string(s)] = h.refined.steps[s];
  }
}

TensorMap AmtModelImpl::forward(const TensorMap& batch, const precision::PrecisionPlan& plan,
                                TensorMap* probes) {
  const Inputs in = check_inputs(batch, plan);
  precision::PlanContext plan_context(plan, *this);
  precision::ModuleScope scope(*this, plan.policy());
  const precision::PrecisionPolicy& policy = scope.policy();
  precision::AutocastGuard autocast(policy);
  const EncoderOutput encoded = encoder->forward(scope.input(in.image), policy);
  const Heads h = forward_heads(encoded, in, policy);
  TensorMap out = output_map(encoded, h);
  for (auto& [name, t] : out) t = is_feature_output(name) ? scope.output(t) : scope.output_geometric(t);
  if (probes) record_probes(encoded, h, *probes);
  return out;
}

std::vector<std::string> amt_probe_names(const AmtConfig& cfg, bool with_camera) {
  std::vector<std::string> names = {"backbone.cls", "backbone.patch", "encoder.cls", "encoder.patch"};
  if (cfg.token_shuffle > 1) names.push_back("projector.memory");
  for (const char* n : {"hand.joints", "hand.features", "objects.features", "objects.positions",
                        "fusion.global", "contacts.points"}) {
    names.push_back(n);
  }
  if (with_camera) {
    for (int64_t s = 0; s < cfg.refinement.steps; ++s) names.push_back("refinement.step" + std::to_string(s));
  }
  return names;
}

bool is_feature_output(const std::string& name) {
  return name.rfind("features/", 0) == 0;
}

AmtModel make_amt_model(const AmtConfig& cfg, uint64_t seed, const precision::PrecisionPlan& plan,
                        std::shared_ptr<Backbone> backbone) {
  AmtModel model(cfg, seed, std::move(backbone));
  precision::apply_param_dtype(*model, plan);
  return model;
}

void load_amt_weights(AmtModelImpl& model, const std::string& path, const precision::PrecisionPlan& plan) {
  const io::Safetensors file = io::read_safetensors(path);
  load_state_dict(model, file.tensors, path, /*strict=*/true);
  precision::apply_param_dtype(model, plan);
}

void load_pretrained_backbone(AmtModelImpl& model, const std::string& path,
                              const precision::PrecisionPolicy& policy) {
  const io::Safetensors file = io::read_safetensors(path);
  load_state_dict(*model.encoder->backbone, file.tensors, path, /*strict=*/true);
  precision::apply_param_dtype(model, policy);
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace amt::model
