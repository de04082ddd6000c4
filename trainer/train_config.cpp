#include "trainer/train_config.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <sstream>

#include "reference/core/error.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/project_dirs.hpp"
#include "reference/io/yaml_file.hpp"
#include "reference/precision/policy.hpp"

namespace amt::trainer {
namespace {

namespace fs = std::filesystem;

// One field: its dotted key, how to read it from text (YAML scalar or `--set` value) and how to write it.
struct Field {
  std::string key;
  std::function<void(TrainConfig&, const std::string&)> set;  // throws std::invalid_argument on bad text
  std::function<std::string(const TrainConfig&)> get;
};

std::string number_text(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

double parse_double(const std::string& t) {
  size_t used = 0;
  const double v = std::stod(t, &used);
  if (used != t.size()) throw std::invalid_argument("not a number");
  return v;
}
int64_t parse_int(const std::string& t) {
  size_t used = 0;
  const long long v = std::stoll(t, &used);
  if (used != t.size()) throw std::invalid_argument("not an integer");
  return static_cast<int64_t>(v);
}
bool parse_bool(const std::string& t) {
  if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off") return false;
  throw std::invalid_argument("not a boolean");
}

Field real(std::string key, double TrainConfig::*m) {
  return {std::move(key), [m](TrainConfig& c, const std::string& t) { c.*m = parse_double(t); },
          [m](const TrainConfig& c) { return number_text(c.*m); }};
}
Field integer(std::string key, int64_t TrainConfig::*m) {
  return {std::move(key), [m](TrainConfig& c, const std::string& t) { c.*m = parse_int(t); },
          [m](const TrainConfig& c) { return std::to_string(c.*m); }};
}
Field seed(std::string key, uint64_t TrainConfig::*m) {
  return {std::move(key),
          [m](TrainConfig& c, const std::string& t) {
            const int64_t v = parse_int(t);
            if (v < 0) throw std::invalid_argument("a seed is >= 0");
            c.*m = static_cast<uint64_t>(v);
          },
          [m](const TrainConfig& c) { return std::to_string(c.*m); }};
}
Field text(std::string key, std::string TrainConfig::*m) {
  return {std::move(key), [m](TrainConfig& c, const std::string& t) { c.*m = t; },
          [m](const TrainConfig& c) { return c.*m; }};
}
Field flag(std::string key, bool TrainConfig::*m) {
  return {std::move(key), [m](TrainConfig& c, const std::string& t) { c.*m = parse_bool(t); },
          [m](const TrainConfig& c) { return std::string(c.*m ? "true" : "false"); }};
}
Field loss(std::string key, double train::LossWeights::*m) {
  return {std::move(key), [m](TrainConfig& c, const std::string& t) { c.loss.*m = parse_double(t); },
          [m](const TrainConfig& c) { return number_text(c.loss.*m); }};
}

const std::vector<Field>& fields() {
  using C = TrainConfig;
  using L = train::LossWeights;
  static const std::vector<Field> table = {
      text("model", &C::model),
      text("policy", &C::policy),
      seed("seed", &C::seed),
      text("pretrained_backbone", &C::pretrained_backbone),
      text("data.root", &C::data),
      text("data.setup", &C::setup),
      text("data.train_split", &C::train_split),
      text("data.val_split", &C::val_split),
      integer("data.synth_sequences", &C::synth_sequences),
      integer("data.synth_frames", &C::synth_frames),
      seed("data.synth_seed", &C::synth_seed),
      text("data.image_storage", &C::image_storage),
      text("data.crop", &C::crop),
      integer("data.crop_size", &C::crop_size),
      real("data.crop_margin", &C::crop_margin),
      real("data.crop_jitter_shift", &C::crop_jitter_shift),
      real("data.crop_jitter_scale", &C::crop_jitter_scale),
      real("data.crop_box_m", &C::crop_box_m),
      integer("data.max_train_samples", &C::max_train_samples),
      integer("data.max_val_samples", &C::max_val_samples),
      integer("data.decode_threads", &C::decode_threads),
      integer("optim.epochs", &C::epochs),
      integer("optim.max_steps", &C::max_steps),
      integer("optim.batch_size", &C::batch_size),
      integer("optim.accumulation", &C::accumulation),
      real("optim.lr", &C::lr),
      real("optim.backbone_lr_factor", &C::backbone_lr_factor),
      real("optim.weight_decay", &C::weight_decay),
      real("optim.backbone_weight_decay", &C::backbone_weight_decay),
      flag("optim.decay_every_parameter", &C::decay_every_parameter),
      integer("optim.freeze_blocks", &C::freeze_blocks),
      integer("optim.warmup_steps", &C::warmup_steps),
      real("optim.restart_epochs", &C::restart_epochs),
      real("optim.restart_mult", &C::restart_mult),
      real("optim.min_lr_ratio", &C::min_lr_ratio),
      real("optim.clip_norm", &C::clip_norm),
      text("optim.loss_scaling", &C::loss_scaling),
      real("optim.loss_scale_init", &C::loss_scale_init),
      integer("optim.loss_scale_growth_interval", &C::loss_scale_growth_interval),
      real("optim.ema_decay", &C::ema_decay),
      flag("optim.dropout", &C::dropout),
      loss("loss.hand_coarse", &L::hand_coarse),
      loss("loss.hand_refined", &L::hand_refined),
      loss("loss.pairwise", &L::pairwise),
      loss("loss.reprojection", &L::reprojection),
      loss("loss.object_position", &L::object_position),
      loss("loss.object_rotation", &L::object_rotation),
      loss("loss.contact", &L::contact),
      loss("loss.physics", &L::physics),
      loss("loss.diversity", &L::diversity),
      loss("loss.fingertip_importance", &L::fingertip_importance),
      loss("loss.diversity_margin", &L::diversity_margin),
      loss("loss.contact_tau", &L::contact_tau),
      integer("run.keep_last", &C::keep_last),
      integer("run.checkpoint_every", &C::checkpoint_every),
      integer("run.log_every", &C::log_every),
      text("run.gate", &C::gate),
  };
  return table;
}

const Field* find_field(const std::string& key) {
  for (const Field& f : fields()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

std::string known_keys() {
  std::string s;
  for (const Field& f : fields()) s += (s.empty() ? "" : ", ") + f.key;
  return s;
}

// Walks a YAML mapping; every scalar leaf must be a known key.
void read_node(TrainConfig& c, const YAML::Node& node, const std::string& prefix, const std::string& file) {
  if (!node.IsMap()) throw FormatError(file, prefix, "expected a mapping");
  for (const auto& kv : node) {
    // A key that is a sequence or a mapping (`? [a, b] : 1`) is valid YAML but names no field.
    if (!kv.first.IsScalar()) throw FormatError(file, prefix, "a key that is not a scalar");
    const std::string key = prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar();
    if (kv.second.IsMap()) {
      read_node(c, kv.second, key, file);
      continue;
    }
    const Field* f = find_field(key);
    if (!f) throw FormatError(file, key, "unknown key (known: " + known_keys() + ")");
    if (!kv.second.IsScalar() && !kv.second.IsNull()) throw FormatError(file, key, "expected a scalar value");
    const std::string value = kv.second.IsNull() ? "" : kv.second.Scalar();
    try {
      f->set(c, value);
    } catch (const std::exception&) {
      throw FormatError(file, key, "cannot read '" + value + "' (current value " + f->get(c) + ")");
    }
  }
}

}  // namespace

TrainConfig load_train_config(const std::string& path) {
  return parse_train_config(io::read_file_bytes(path), path);
}

TrainConfig parse_train_config(const std::string& text, const std::string& path) {
  TrainConfig c;
  const YAML::Node root = io::parse_yaml(text, path);
  if (!root.IsNull()) read_node(c, root, "", path);
  try {
    check_train_config(c);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
  return c;
}

void apply_override(TrainConfig& c, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set '" + assignment + "': expected key=value (keys: " + known_keys() + ")");
  const std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  const Field* f = find_field(key);
  if (!f) throw ConfigError("--set: unknown key '" + key + "' (known: " + known_keys() + ")");
  try {
    f->set(c, value);
  } catch (const std::exception&) {
    throw ConfigError("--set " + key + ": cannot read '" + value + "'");
  }
}

void check_train_config(const TrainConfig& c) {
  const auto need = [](bool ok, const std::string& key, const std::string& what) {
    if (!ok) throw ConfigError(key + ": " + what);
  };
  (void)precision::PrecisionPolicy::parse(c.policy);  // ConfigError listing the names
  need(!c.model.empty(), "model", "must name a model config");
  need(c.setup == "s0" || c.setup == "s1" || c.setup == "s2" || c.setup == "s3", "data.setup",
       "must be s0, s1, s2 or s3, got '" + c.setup + "'");
  need(c.synth_sequences >= 1 && c.synth_frames >= 1, "data.synth_sequences/synth_frames", "must be >= 1");
  need(c.max_train_samples >= 0 && c.max_val_samples >= 0, "data.max_*_samples", "must be >= 0");
  need(c.crop == "none" || c.crop == "hand", "data.crop", "must be none or hand, got '" + c.crop + "'");
  if (c.crop == "hand") {
    try {
      vision::check_hand_crop(*run_hand_crop(c));
    } catch (const ConfigError& e) {
      throw ConfigError(std::string("data.crop_*: ") + e.what());
    }
    need(c.image_storage == "uint8", "data.image_storage", "must be uint8 with data.crop hand");
    need(std::isfinite(c.crop_box_m) && c.crop_box_m >= 0, "data.crop_box_m",
         "must be a positive number (or 0: measured on the training set)");
  }
  need(c.decode_threads >= 1, "data.decode_threads", "must be >= 1");
  need(c.epochs >= 1, "optim.epochs", "must be >= 1, got " + std::to_string(c.epochs));
  need(c.max_steps >= 0, "optim.max_steps", "must be >= 0");
  need(c.batch_size >= 1, "optim.batch_size", "must be >= 1, got " + std::to_string(c.batch_size));
  need(c.accumulation >= 1, "optim.accumulation", "must be >= 1");
  need(std::isfinite(c.lr) && c.lr > 0, "optim.lr", "must be a positive number");
  need(c.backbone_lr_factor >= 0, "optim.backbone_lr_factor", "must be >= 0");
  need(c.weight_decay >= 0 && c.backbone_weight_decay >= 0, "optim.weight_decay", "must be >= 0");
  need(c.freeze_blocks >= 0, "optim.freeze_blocks", "must be >= 0");
  need(c.warmup_steps >= 0, "optim.warmup_steps", "must be >= 0");
  need(c.restart_epochs >= 0, "optim.restart_epochs", "must be >= 0");
  need(c.restart_mult >= 1, "optim.restart_mult", "must be >= 1");
  need(c.min_lr_ratio >= 0 && c.min_lr_ratio <= 1, "optim.min_lr_ratio", "must be in [0, 1]");
  need(c.clip_norm >= 0, "optim.clip_norm", "must be >= 0");
  need(c.loss_scaling == "auto" || c.loss_scaling == "dynamic" || c.loss_scaling == "off",
       "optim.loss_scaling", "must be auto, dynamic or off, got '" + c.loss_scaling + "'");
  need(std::isfinite(c.loss_scale_init) && c.loss_scale_init > 0, "optim.loss_scale_init",
       "must be a finite number > 0");
  need(c.loss_scale_growth_interval >= 1, "optim.loss_scale_growth_interval", "must be >= 1");
  need(c.ema_decay >= 0 && c.ema_decay < 1, "optim.ema_decay", "must be in [0, 1)");
  need(c.keep_last >= 1, "run.keep_last", "must be >= 1");
  need(c.checkpoint_every >= 0, "run.checkpoint_every", "must be >= 0");
  need(c.log_every >= 1, "run.log_every", "must be >= 1");
  need(c.gate == "quick" || c.gate == "full" || c.gate == "skip", "run.gate",
       "must be quick, full or skip, got '" + c.gate + "'");
}

model::AmtConfig run_model_config(const TrainConfig& c) {
  model::AmtConfig mc = model::load_amt_config(c.model);
  if (c.crop == "hand") {
    mc.hand.crop_box_m = c.crop_box_m;
    const int64_t q = mc.backbone.patch_size * mc.token_shuffle;
    if (c.crop_size % q != 0 || c.crop_size > mc.max_side) {
      throw ConfigError("data.crop_size: must be a multiple of " + std::to_string(q) +
                        " (patch × shuffle of " + mc.name + ") and at most its max side " +
                        std::to_string(mc.max_side) + ", got " + std::to_string(c.crop_size));
    }
  }
  return mc;
}

std::optional<vision::HandCropSpec> run_hand_crop(const TrainConfig& c) {
  if (c.crop != "hand") return std::nullopt;
  vision::HandCropSpec s;
  s.size = c.crop_size;
  s.margin = c.crop_margin;
  s.jitter_shift = c.crop_jitter_shift;
  s.jitter_scale = c.crop_jitter_scale;
  return s;
}

std::vector<std::pair<std::string, std::string>> describe(const TrainConfig& c) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const Field& f : fields()) rows.emplace_back(f.key, f.get(c));
  return rows;
}

nlohmann::json to_json(const TrainConfig& c) {
  nlohmann::json j = nlohmann::json::object();
  for (const Field& f : fields()) j[f.key] = f.get(c);  // text: exact round trip of every double
  return j;
}

TrainConfig from_json(const nlohmann::json& j, const std::string& source) {
  TrainConfig c;
  // A config.json written before the key existed trained with decay on every parameter; its resume must too.
  if (j.is_object() && !j.contains("optim.decay_every_parameter")) c.decay_every_parameter = true;
  if (!j.is_object()) throw FormatError(source, "", "expected a JSON object");
  for (const auto& [key, value] : j.items()) {
    const Field* f = find_field(key);
    if (!f) throw FormatError(source, key, "unknown key");
    if (!value.is_string()) throw FormatError(source, key, "expected a string");
    try {
      f->set(c, value.get<std::string>());
    } catch (const std::exception&) {
      throw FormatError(source, key, "cannot read '" + value.get<std::string>() + "'");
    }
  }
  return c;
}

std::string find_train_config(const std::string& name) {
  std::error_code ec;
  if (fs::is_regular_file(name, ec)) return name;
  std::string looked;
  for (const std::string& d : io::project_dirs("AMT_CONFIG_DIR", "configs")) {
    const fs::path f = fs::path(d) / "train" / (name + ".yaml");
    if (fs::is_regular_file(f, ec)) return f.string();
    looked += (looked.empty() ? "" : ", ") + f.string();
  }
  throw IoError(name, "trainer config not found (looked in " + looked + ")");
}

}  // namespace amt::trainer
