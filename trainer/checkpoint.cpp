#include "trainer/checkpoint.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>  // renameat2, RENAME_EXCHANGE (glibc, _GNU_SOURCE)
#include <filesystem>
#include <mutex>
#include <vector>

#include "reference/core/error.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/json_file.hpp"
#include "reference/io/safetensors.hpp"

namespace amt::trainer {
namespace {

namespace fs = std::filesystem;

std::string step_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%06lld", static_cast<long long>(step));
  return buf;
}

TensorMap read_tensors(const fs::path& file, std::map<std::string, std::string>* metadata = nullptr) {
  if (!fs::is_regular_file(file)) throw CheckpointError(file.string() + ": missing from the checkpoint");
  io::Safetensors st = io::read_safetensors(file.string());
  if (metadata) *metadata = st.metadata;
  TensorMap out;
  for (auto& [name, t] : st.tensors) out[name] = t.clone();  // own the memory: the mapping goes away
  return out;
}

std::string read_pointer(const fs::path& file) {
  std::string name = io::read_file_bytes(file.string());
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  return name;
}

// Checkpoint folders of a run, oldest first (by step: the names sort by step).
std::vector<std::string> checkpoint_folders(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && name.rfind("step-", 0) == 0 && name.find(".tmp") == std::string::npos)
      out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

nlohmann::json to_json(const TrainState& s) {
  return {
      {"epoch", s.epoch},
      {"epoch_position", s.epoch_position},
      {"step", s.step},
      {"skipped_steps", s.skipped_steps},
      {"images", s.images},
      {"train_seconds", s.train_seconds},
      {"best_mpjpe_mm", std::isfinite(s.best_mpjpe_mm) ? nlohmann::json(s.best_mpjpe_mm) : nlohmann::json()},
      {"best_checkpoint", s.best_checkpoint},
      {"reason", s.reason},
      {"world_size", s.world_size},
      {"rank_positions", s.rank_positions},
      {"loss_scale", s.loss_scale},
      {"loss_scale_growth_tracker", s.loss_scale_growth_tracker}};
}

TrainState train_state_from_json(const nlohmann::json& j, const std::string& source) {
  TrainState s;
  const auto get = [&](const char* key) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(key)) throw FormatError(source, key, "missing");
    return j.at(key);
  };
  try {
    s.epoch = get("epoch").get<int64_t>();
    s.epoch_position = get("epoch_position").get<int64_t>();
    s.step = get("step").get<int64_t>();
    s.skipped_steps = get("skipped_steps").get<int64_t>();
    s.images = get("images").get<int64_t>();
    s.train_seconds = get("train_seconds").get<double>();
    const auto& best = get("best_mpjpe_mm");
    s.best_mpjpe_mm = best.is_null() ? std::numeric_limits<double>::infinity() : best.get<double>();
    s.best_checkpoint = get("best_checkpoint").get<std::string>();
    s.reason = get("reason").get<std::string>();
    // Written since distributed training: a checkpoint without them is a one-rank run's.
    if (j.contains("world_size")) s.world_size = j.at("world_size").get<int64_t>();
    if (j.contains("rank_positions")) s.rank_positions = j.at("rank_positions").get<std::vector<int64_t>>();
    // Written since loss scaling: a checkpoint without them is of a run that did not scale.
    if (j.contains("loss_scale")) s.loss_scale = j.at("loss_scale").get<double>();
    if (j.contains("loss_scale_growth_tracker"))
      s.loss_scale_growth_tracker = j.at("loss_scale_growth_tracker").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(source, "", std::string("wrong type: ") + e.what());
  }
  if (s.epoch < 0 || s.epoch_position < 0 || s.step < 0)
    throw FormatError(source, "step", "negative counter");
  if (s.world_size < 1) throw FormatError(source, "world_size", "must be >= 1");
  if (!s.rank_positions.empty() && static_cast<int64_t>(s.rank_positions.size()) != s.world_size)
    throw FormatError(source, "rank_positions", "needs one entry per rank (world_size)");
  return s;
}

std::string save_checkpoint(const std::string& run_dir, const Checkpoint& c, bool is_best,
                            int64_t keep_last) {
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  fs::create_directories(dir);
  const std::string name = step_name(c.state.step);
  const fs::path final_dir = dir / name;
  const fs::path tmp = dir / (name + ".tmp-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  TrainState state = c.state;
  if (is_best) state.best_checkpoint = name;
  io::write_safetensors((tmp / "model.safetensors").string(), c.model, {{"format", "pt"}, {"amt", "model"}});
  io::write_safetensors((tmp / "backbone.safetensors").string(), c.backbone,
                        {{"format", "pt"}, {"config", c.backbone_config}});
  io::write_safetensors((tmp / "optimizer.safetensors").string(), c.optimizer, {{"amt", "adamw"}});
  io::write_safetensors((tmp / "ema.safetensors").string(), c.ema, {{"amt", "ema"}});
  TensorMap rng = {{"cpu", c.rng}};
  for (size_t r = 0; r < c.other_ranks_rng.size(); ++r)
    rng["rank" + std::to_string(r + 1)] = c.other_ranks_rng[r];
  io::write_safetensors((tmp / "rng.safetensors").string(), rng, {{"amt", "rng"}});
  io::write_file_atomic((tmp / "state.json").string(), to_json(state).dump(2) + "\n");
  io::sync_directory(tmp.string());
  // A checkpoint of the same step (a re-save after resume) is replaced whole, by swapping the two folders in
  // one atomic step (renameat2 RENAME_EXCHANGE), so `latest` never names a missing folder, whenever a crash
  // comes; the old one, now under the temporary name, is removed after. Where the file system cannot swap,
  // remove-then-rename (a crash between the two would leave `latest` dangling until the next save).
  if (fs::exists(final_dir)) {
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) == 0) {
      fs::remove_all(tmp, ec);
    } else {
      fs::remove_all(final_dir);
      fs::rename(tmp, final_dir, ec);
    }
  } else {
    fs::rename(tmp, final_dir, ec);
  }
  if (ec) throw IoError(final_dir.string(), "cannot rename " + tmp.string() + ": " + ec.message());
  io::sync_directory(dir.string());
  io::write_file_atomic((dir / "latest").string(), name + "\n");
  if (is_best) io::write_file_atomic((dir / "best").string(), name + "\n");

  // Prune: keep the newest keep_last and the best.
  const std::string best = fs::exists(dir / "best") ? read_pointer(dir / "best") : "";
  std::vector<std::string> folders = checkpoint_folders(dir);
  const int64_t n = static_cast<int64_t>(folders.size());
  for (int64_t i = 0; i < n - keep_last; ++i) {
    if (folders[static_cast<size_t>(i)] == best) continue;
    fs::remove_all(dir / folders[static_cast<size_t>(i)], ec);
  }
  // Leftover temporary folders of crashed writers.
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string f = e.path().filename().string();
    if (e.is_directory() && f.find(".tmp-") != std::string::npos && e.path() != tmp)
      fs::remove_all(e.path(), ec);
  }
  return final_dir.string();
}

std::string resolve_checkpoint(const std::string& path) {
  const fs::path p(path);
  if (fs::is_regular_file(p / "state.json")) return p.string();
  for (const fs::path& pointer : {p / "checkpoints" / "latest", p / "latest"}) {
    if (fs::is_regular_file(pointer)) return (pointer.parent_path() / read_pointer(pointer)).string();
  }
  throw IoError(path, "no checkpoint here (expected state.json, checkpoints/latest or latest)");
}

std::string resolve_best_checkpoint(const std::string& path) {
  const fs::path p(path);
  if (fs::is_regular_file(p / "state.json")) return p.string();
  for (const fs::path& pointer : {p / "checkpoints" / "best", p / "best"}) {
    if (!fs::is_regular_file(pointer)) continue;
    const std::string name = read_pointer(pointer);
    if (!name.empty()) return (pointer.parent_path() / name).string();
  }
  return resolve_checkpoint(path);
}

Checkpoint load_checkpoint(const std::string& path) {
  const fs::path dir = resolve_checkpoint(path);
  Checkpoint c;
  const fs::path state_file = dir / "state.json";
  if (!fs::is_regular_file(state_file)) throw CheckpointError(state_file.string() + ": missing");
  c.state = train_state_from_json(io::load_json_file(state_file.string()), state_file.string());
  c.model = read_tensors(dir / "model.safetensors");
  std::map<std::string, std::string> meta;
  c.backbone = read_tensors(dir / "backbone.safetensors", &meta);
  c.backbone_config = meta.count("config") ? meta.at("config") : "";
  c.optimizer = read_tensors(dir / "optimizer.safetensors");
  c.ema = read_tensors(dir / "ema.safetensors");
  const TensorMap rng = read_tensors(dir / "rng.safetensors");
  if (!rng.count("cpu"))
    throw CheckpointError((dir / "rng.safetensors").string() + ": tensor 'cpu' is missing");
  c.rng = rng.at("cpu");
  for (int64_t r = 1; r < c.state.world_size; ++r) {
    const std::string key = "rank" + std::to_string(r);
    if (!rng.count(key))
      throw CheckpointError((dir / "rng.safetensors").string() + ": tensor '" + key +
                            "' is missing (world size " + std::to_string(c.state.world_size) + ")");
    c.other_ranks_rng.push_back(rng.at(key));
  }
  return c;
}

torch::Tensor cpu_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_cpu_rng_state(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

}  // namespace amt::trainer
