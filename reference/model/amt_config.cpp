#include "reference/model/amt_config.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "reference/core/checked.hpp"
#include "reference/core/error.hpp"
#include "reference/io/project_dirs.hpp"

namespace amt::model {

namespace {

namespace fs = std::filesystem;

// Reads a YAML mapping strictly: every key must be consumed, every value has the requested type.
class Reader {
 public:
  Reader(YAML::Node node, std::string source, std::string prefix)
      : node_(std::move(node)), source_(std::move(source)), prefix_(std::move(prefix)) {
    if (node_ && !node_.IsNull() && !node_.IsMap()) fail("", "must be a mapping");
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    const std::string k = prefix_ + (prefix_.empty() || key.empty() ? "" : ".") + key;
    throw ConfigError(source_ + " [" + (k.empty() ? "<root>" : k) + "]: " + what);
  }

  template <typename T>
  void get(const std::string& key, T& out) {
    seen_.insert(key);
    if (!node_ || !node_[key]) return;  // optional: keep the default
    const YAML::Node v = node_[key];
    if (!v.IsScalar()) fail(key, "must be a scalar");
    try {
      out = v.as<T>();
    } catch (const YAML::Exception&) {
      fail(key, "cannot read '" + v.Scalar() + "' as a " + type_name<T>());
    }
  }

  template <typename T>
  void positive(const std::string& key, T& out) {
    get(key, out);
    if (!(out > T(0))) fail(key, "must be positive");
  }

  Reader child(const std::string& key) {
    seen_.insert(key);
    return Reader(node_ ? node_[key] : YAML::Node(), source_, prefix_.empty() ? key : prefix_ + "." + key);
  }

  void finish() const {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      if (!kv.first.IsScalar()) fail("", "a key that is not a plain name (a list or mapping used as a key)");
      const std::string k = kv.first.Scalar();
      if (!seen_.count(k)) fail(k, "unknown key");
    }
  }

 private:
  template <typename T>
  static const char* type_name() {
    if constexpr (std::is_same_v<T, std::string>) return "string";
    if constexpr (std::is_integral_v<T>) return "integer";
    return "number";
  }
  YAML::Node node_;
  std::string source_, prefix_;
  std::set<std::string> seen_;
};

}  // namespace

AmtConfig parse_amt_config(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ": not valid YAML: " + e.what());
  }
  if (!root.IsMap()) throw ConfigError(source + ": the top level must be a mapping");
  AmtConfig c;
  Reader r(root, source, "");
  c.name = source;
  r.get("name", c.name);

  Reader b = r.child("backbone");
  std::string preset_name = "dinov2-tiny", interp;
  b.get("preset", preset_name);
  try {
    c.backbone = preset(preset_name);
  } catch (const ConfigError& e) {
    b.fail("preset", e.what());
  }
  b.get("pos_interp", interp);
  if (!interp.empty()) {
    try {
      c.backbone.pos_interp = parse_pos_interp(interp);
    } catch (const ConfigError& e) {
      b.fail("pos_interp", e.what());
    }
  }
  b.finish();

  Reader im = r.child("image");
  im.positive("max_side", c.max_side);
  im.positive("token_shuffle", c.token_shuffle);
  int64_t quantum = 0;
  try {
    quantum = checked_mul(c.backbone.patch_size, c.token_shuffle, "patch × token_shuffle");
  } catch (const ValueError& e) {
    im.fail("token_shuffle", e.what());
  }
  if (c.max_side % quantum != 0) {
    im.fail("max_side", std::to_string(c.max_side) +
                            " is not a multiple of patch × token_shuffle = " + std::to_string(quantum));
  }
  im.finish();

  Reader m = r.child("model");
  m.get("dropout", c.dropout);
  if (!(c.dropout >= 0.0 && c.dropout < 1.0)) m.fail("dropout", "must be in [0, 1)");  // NaN fails too
  m.positive("fusion_heads", c.fusion_heads);
  if (c.dim() % c.fusion_heads) m.fail("fusion_heads", "must divide the backbone width");

  Reader h = m.child("hand");
  h.positive("hidden", c.hand.hidden);
  h.positive("aux_hidden", c.hand.aux_hidden);
  h.positive("init_depth", c.hand.init_depth);
  h.get("crop_box_m", c.hand.crop_box_m);
  if (!(c.hand.crop_box_m >= 0)) h.fail("crop_box_m", "must be >= 0 (0: whole images)");
  h.finish();

  Reader o = m.child("object");
  o.positive("queries", c.object.queries);
  o.positive("layers", c.object.layers);
  o.positive("heads", c.object.heads);
  o.positive("ff", c.object.ff);
  o.positive("classes", c.object.classes);
  o.positive("head_hidden", c.object.head_hidden);
  if (c.dim() % c.object.heads) o.fail("heads", "must divide the backbone width");
  o.finish();

  Reader ct = m.child("contact");
  ct.positive("hidden", c.contact.hidden);
  ct.positive("points", c.contact.points);
  ct.positive("layers", c.contact.layers);
  ct.positive("heads", c.contact.heads);
  ct.positive("ff", c.contact.ff);
  ct.positive("interaction_hidden", c.contact.interaction_hidden);
  if (c.contact.hidden % c.contact.heads) ct.fail("heads", "must divide contact.hidden");
  ct.finish();

  Reader rf = m.child("refinement");
  rf.positive("feature_dim", c.refinement.feature_dim);
  rf.positive("hidden", c.refinement.hidden);
  rf.get("steps", c.refinement.steps);
  if (c.refinement.steps < 0) rf.fail("steps", "must be >= 0");
  rf.positive("min_depth", c.refinement.min_depth);
  rf.finish();
  m.finish();
  r.finish();
  return c;
}

AmtConfig load_amt_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path, "cannot open config");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_amt_config(ss.str(), path);
}

std::string find_amt_config(const std::string& name) {
  if (name.empty()) throw ConfigError("config name is empty");
  std::error_code ec;
  if (fs::is_regular_file(name, ec)) return name;
  std::string looked;
  for (const std::string& d : io::project_dirs("AMT_CONFIG_DIR", "configs")) {
    const fs::path f = fs::path(d) / (name + ".yaml");
    if (fs::is_regular_file(f, ec)) return f.string();
    looked += (looked.empty() ? "" : ", ") + f.string();
  }
  throw ConfigError("config '" + name + "' not found (looked in " + looked + ")");
}

AmtConfig load_amt_config(const std::string& name) {
  return load_amt_config_file(find_amt_config(name));
}

std::vector<std::string> amt_config_names() {
  return {"tiny", "small", "base", "large", "upstream"};
}

}  // namespace amt::model
