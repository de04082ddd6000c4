#include "trainer/trainer.hpp"

#include <torch/torch.h>

#include "reference/model/hf_config_writer.hpp"
#include "reference/model/weights_loader.hpp"

namespace amt::trainer {

Trainer::Trainer(model::AmtModel model, const TrainConfig& config, Schedule schedule)
    : model_(std::move(model)),
      config_(config),
      policy_(precision::PrecisionPolicy::parse(config.policy)),
      schedule_(schedule),
      optimizer_(*model_, config) {
  if (config.ema_decay > 0.0) ema_ = std::make_unique<Ema>(*model_, config.ema_decay);
  const bool scale = config.loss_scaling == "dynamic" ||
                     (config.loss_scaling == "auto" && precision::needs_loss_scaling(policy_));
  if (scale) {
    precision::LossScalerOptions o;
    o.init_scale = config.loss_scale_init;
    o.growth_interval = config.loss_scale_growth_interval;
    scaler_ = std::make_unique<precision::LossScaler>(o);
  }
}

train::StepResult Trainer::step(const std::vector<TensorMap>& micro_batches,
                                const train::GradientReducer& reduce_gradients) {
  optimizer_.set_lr_factor(lr_factor(schedule_, steps_));
  if (config_.dropout) {
    model_->train();
  } else {
    model_->eval();
  }
  train::StepResult r = train::training_step(*model_, optimizer_.adamw(), micro_batches, config_.loss,
                                             policy_, config_.clip_norm, reduce_gradients, scaler_.get());
  if (!r.skipped) {
    ++steps_;
    if (ema_) ema_->update(*model_);
  }
  return r;
}

Checkpoint Trainer::make_checkpoint(const TrainState& state) const {
  Checkpoint c;
  c.state = state;
  // Copies: the parameters, AdamW moments and EMA shadow are updated in place by the next step.
  for (const auto& item : model_->named_parameters()) c.model[item.key()] = item.value().detach().clone();
  for (const auto& item : model_->encoder->backbone->named_parameters())
    c.backbone[item.key()] = item.value().detach().clone();
  c.backbone_config = model::hf_config_json(model_->config().backbone);
  for (const auto& [k, v] : optimizer_.state_tensors()) c.optimizer[k] = v.clone();
  if (ema_) {
    for (const auto& [k, v] : ema_->state_tensors()) c.ema[k] = v.clone();
  }
  c.rng = cpu_rng_state();
  if (scaler_) {
    c.state.loss_scale = scaler_->scale_value();
    c.state.loss_scale_growth_tracker = scaler_->growth_tracker();
  }
  return c;
}

void Trainer::restore(const Checkpoint& c, const std::string& source) {
  model::load_state_dict(*model_, c.model, source + "/model.safetensors", true);
  optimizer_.load_state_tensors(c.optimizer, source + "/optimizer.safetensors");
  if (ema_) ema_->load_state_tensors(c.ema, source + "/ema.safetensors");
  set_cpu_rng_state(c.rng);
  if (scaler_ && c.state.loss_scale > 0)
    scaler_->restore(c.state.loss_scale, c.state.loss_scale_growth_tracker);
  steps_ = c.state.step;
}

}  // namespace amt::trainer
