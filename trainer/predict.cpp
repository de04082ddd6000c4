#include "trainer/predict.hpp"

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "reference/core/error.hpp"
#include "reference/core/tensor_map.hpp"
#include "reference/data/dexycb_layout.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/json_file.hpp"
#include "reference/model/weights_loader.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/precision/islands.hpp"
#include "reference/train/rotation.hpp"
#include "reference/vision/hand_crop.hpp"
#include "reference/vision/image_grid.hpp"
#include "reference/vision/image_io.hpp"
#include "trainer/checkpoint.hpp"
#include "trainer/evaluate.hpp"
#include "trainer/optim.hpp"

namespace amt::trainer {
namespace {

namespace fs = std::filesystem;

const cv::Scalar kPredicted(40, 230, 40);    // RGB green
const cv::Scalar kGroundTruth(240, 60, 60);  // RGB red
constexpr int kPanelSide = 336;              // crop panels are drawn at this side

// The sample the cache would hand out for this prepared image (the data path's ImageSample).
vision::ImageSample sample_of(const data::PreparedImage& p, int64_t patch, int64_t shuffle) {
  vision::ImageSample s;
  s.id = 0;
  s.image = p.image;
  s.grid = vision::make_image_grid(p.size.height, p.size.width, patch, shuffle);
  s.K = p.K.matrix();
  s.original_size = p.original_size;
  s.scale_y = p.scale_y;
  s.scale_x = p.scale_x;
  s.has_hand = false;  // unknown: only the forward pass is run
  return s;
}

// An RGB picture as a PNG file, written atomically.
void write_png(const std::string& path, const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> png;
  if (!cv::imencode(".png", bgr, png)) throw IoError(path, "cannot encode the picture as PNG");
  io::write_file_atomic(path, std::string(png.begin(), png.end()));
}

// Pixels [N,2] of camera-frame points [N,3] (metres) under K [3,3] (fp64, as every metric projects).
torch::Tensor project(const torch::Tensor& points, const torch::Tensor& K) {
  const torch::Tensor uvw = torch::matmul(points.to(torch::kFloat64), K.to(torch::kFloat64).transpose(0, 1));
  return uvw.narrow(1, 0, 2) / uvw.narrow(1, 2, 1).clamp_min(1e-6);
}

nlohmann::json rows(const torch::Tensor& t, double scale = 1.0) {
  const torch::Tensor d = (t.to(torch::kFloat64) * scale).contiguous();
  nlohmann::json out = nlohmann::json::array();
  if (d.dim() == 1) {
    for (int64_t i = 0; i < d.size(0); ++i) out.push_back(d[i].item<double>());
    return out;
  }
  for (int64_t i = 0; i < d.size(0); ++i) out.push_back(rows(d[i]));
  return out;
}

std::array<double, 4> parse_box(const std::array<double, 4>& b, const std::string& image) {
  if (!(b[2] > b[0] && b[3] > b[1])) throw ConfigError("--box: x1 > x0 and y1 > y0 needed for " + image);
  return b;
}

// The DexYCB tree an image sits in, when it does: <root>/<subject>/<sequence>/<serial>/color_NNNNNN.jpg.
struct DexYCBFrame {
  std::string root, serial, label_file;
};
std::optional<DexYCBFrame> dexycb_frame(const std::string& image) {
  const fs::path p = fs::absolute(image);
  const std::string name = p.filename().string();
  if (name.rfind("color_", 0) != 0) return std::nullopt;
  const std::string serial = p.parent_path().filename().string();
  const fs::path root = p.parent_path().parent_path().parent_path().parent_path();
  const fs::path label = p.parent_path() / ("labels_" + p.stem().string().substr(6) + ".npz");
  if (data::serial_index(serial) < 0 || !fs::is_regular_file(root / data::intrinsics_path(serial)))
    return std::nullopt;
  return DexYCBFrame{root.string(), serial, fs::is_regular_file(label) ? label.string() : ""};
}

// The camera of one image: --K, --calib, the tree's calibration, or the documented default; `source` says
// which.
vision::Intrinsics choose_camera(const PredictOptions& o, const cv::Mat& rgb,
                                 const std::optional<DexYCBFrame>& dex, std::string& source) {
  vision::Intrinsics K;
  if (o.K) {
    K = *o.K, source = "--K";
  } else if (!o.calib.empty()) {
    const data::ColorIntrinsics c = data::read_intrinsics(o.calib);
    K = {c.fx, c.fy, c.ppx, c.ppy, 0.0}, source = "--calib " + o.calib;
  } else if (dex) {
    const data::ColorIntrinsics c =
        data::read_intrinsics(data::join_path(dex->root, data::intrinsics_path(dex->serial)));
    K = {c.fx, c.fy, c.ppx, c.ppy, 0.0}, source = "DexYCB calibration";
  } else {
    K = default_intrinsics(rgb.rows, rgb.cols), source = "default";
  }
  return K;
}

// The model's outputs for one image into its JSON: joints (camera mm, pixels), objects, contacts.
void add_outputs(nlohmann::json& j, const TensorMap& out, const torch::Tensor& joints,
                 const torch::Tensor& joints_px) {
  j["joints_camera_mm"] = rows(joints, 1000.0);
  j["joints_px"] = rows(joints_px);
  j["joint_confidence"] = rows(out.at("hand_confidence")[0]);
  j["joints_coarse_camera_mm"] = rows(out.at("hand_joints_coarse")[0], 1000.0);
  const torch::Tensor R = train::rotation_6d_to_matrix(out.at("object_rotations")[0].to(torch::kFloat64));
  const torch::Tensor classes = out.at("object_class_logits")[0].argmax(-1);
  j["objects"] = nlohmann::json::array();
  for (int64_t q = 0; q < R.size(0); ++q) {
    j["objects"].push_back({{"position_mm", rows(out.at("object_positions")[0][q], 1000.0)},
                            {"rotation", rows(R[q])},
                            {"confidence", out.at("object_confidence")[0][q].item<double>()},
                            {"class", classes[q].item<int64_t>()}});
  }
  j["contacts"] = {{"points_mm", rows(out.at("contact_points")[0], 1000.0)},
                   {"confidence", rows(out.at("contact_confidence")[0])}};
}

}  // namespace

InferenceModel load_for_inference(const std::string& checkpoint_dir, const std::string& policy) {
  InferenceModel m;
  m.checkpoint = resolve_best_checkpoint(checkpoint_dir);
  const std::string run_dir = fs::path(m.checkpoint).parent_path().parent_path().string();
  const std::string cfg_file = run_dir + "/config.json";
  m.config = from_json(io::load_json_file(cfg_file), cfg_file);
  if (!policy.empty()) m.config.policy = policy;
  check_train_config(m.config);
  m.policy = precision::PrecisionPolicy::parse(m.config.policy);
  m.model_config = run_model_config(m.config);
  const Checkpoint ckpt = load_checkpoint(m.checkpoint);
  m.step = ckpt.state.step;
  m.model = model::make_amt_model(m.model_config, m.config.seed, m.policy);
  model::load_state_dict(*m.model, ckpt.model, m.checkpoint + "/model.safetensors", true);
  if (m.config.ema_decay > 0.0) {
    // What the run validated: the EMA shadow over the parameters.
    Ema ema(*m.model, m.config.ema_decay);
    ema.load_state_tensors(ckpt.ema, m.checkpoint + "/ema.safetensors");
    ema.apply(*m.model);
  }
  m.model->eval();
  return m;
}

TensorMap infer(InferenceModel& m, const vision::Batch& batch) {
  torch::NoGradGuard no_grad;
  m.model->eval();
  return m.model->forward(precision::conform_batch(vision::model_inputs(batch), m.policy), m.policy);
}

vision::Intrinsics default_intrinsics(int64_t height, int64_t width) {
  const double f = static_cast<double>(std::max(height, width));
  return {f, f, 0.5 * static_cast<double>(width - 1), 0.5 * static_cast<double>(height - 1), 0.0};
}

void draw_skeleton(cv::Mat& rgb, const torch::Tensor& joints_px, const cv::Scalar& colour) {
  const torch::Tensor uv = joints_px.to(torch::kFloat64).contiguous();
  const int thickness = std::max(1, std::min(rgb.rows, rgb.cols) / 160);
  const auto at = [&](int j) { return cv::Point2d(uv[j][0].item<double>(), uv[j][1].item<double>()); };
  const auto finite = [&](int j) { return std::isfinite(at(j).x) && std::isfinite(at(j).y); };
  for (const auto& bone : data::mano_bones()) {
    if (!finite(bone[0]) || !finite(bone[1])) continue;
    cv::line(rgb, at(bone[0]), at(bone[1]), colour, thickness, cv::LINE_AA);
  }
  for (int j = 0; j < static_cast<int>(uv.size(0)); ++j) {
    if (finite(j)) cv::circle(rgb, at(j), thickness + 1, colour, cv::FILLED, cv::LINE_AA);
  }
}

std::vector<PredictedImage> predict_images(const PredictOptions& o) {
  if (o.images.empty()) throw ConfigError("predict: name at least one image");
  if (o.out.empty()) throw ConfigError("predict: --out is required");
  if (o.K && !o.calib.empty()) throw ConfigError("predict: give --K or --calib, not both");
  InferenceModel m = load_for_inference(o.checkpoint, o.policy);
  const auto crop = run_hand_crop(m.config);
  const int64_t patch = m.model_config.backbone.patch_size, shuffle = m.model_config.token_shuffle;
  fs::create_directories(o.out);
  std::vector<PredictedImage> done;
  for (const std::string& path : o.images) {
    PredictedImage r;
    r.image = path;
    const cv::Mat rgb = vision::read_image(path);
    const std::optional<DexYCBFrame> dex = dexycb_frame(path);
    const vision::Intrinsics K = choose_camera(o, rgb, dex, r.camera_source);
    const torch::Tensor K0 = vision::intrinsics_matrix(K);
    std::optional<data::FrameLabels> labels;
    if (dex && !dex->label_file.empty()) {
      labels = data::read_labels(dex->label_file);
      if (!data::labels_have_hand(labels->joint_3d)) labels.reset();
    }
    r.has_ground_truth = labels.has_value();
    const data::ColorIntrinsics ck{K.fx, K.fy, K.cx, K.cy};
    // The one data path: the crop (box from --box, the labels, or the whole image) or DynamicResize.
    data::PreparedImage prepared;
    std::optional<vision::CropBox> box;
    if (crop) {
      if (o.box) {
        const auto b = parse_box(*o.box, path);
        const double side = std::max(b[2] - b[0], b[3] - b[1]);
        box = vision::CropBox{0.5 * (b[0] + b[2]) - 0.5 * side, 0.5 * (b[1] + b[3]) - 0.5 * side, side};
        r.box_source = "--box";
      } else if (labels) {
        box = vision::hand_box(labels->joint_2d[0], torch::ones({data::kNumJoints}, torch::kBool), *crop);
        r.box_source = "DexYCB labels";
      } else {
        const double side = static_cast<double>(std::max(rgb.rows, rgb.cols));
        box = vision::CropBox{0.5 * (rgb.cols - side) - 0.5, 0.5 * (rgb.rows - side) - 0.5, side};
        r.box_source = "whole image (no hand box given: the model was trained on hand crops)";
      }
      prepared = data::prepare_crop(rgb, ck, *box, crop->size);
    } else {
      data::ResizeSpec resize;
      resize.q = patch * shuffle;
      resize.max_side = m.model_config.max_side;
      prepared = data::prepare_image(rgb, ck, resize, data::ImageStorage::kUInt8);
    }
    const TensorMap out = infer(m, vision::collate({sample_of(prepared, patch, shuffle)}));
    const torch::Tensor joints = out.at("hand_joints")[0].to(torch::kFloat64);
    const torch::Tensor joints_px = project(joints, K0);

    nlohmann::json j;
    j["image"] = path;
    j["checkpoint"] = m.checkpoint;
    j["step"] = m.step;
    j["camera"] = {{"fx", K.fx}, {"fy", K.fy}, {"cx", K.cx}, {"cy", K.cy}, {"source", r.camera_source}};
    j["input"] = {{"size", {prepared.size.height, prepared.size.width}},
                  {"mode", crop ? "hand crop" : "resize"}};
    if (box) {
      j["input"]["box"] = {box->x0, box->y0, box->side};
      j["input"]["box_source"] = r.box_source;
    }
    add_outputs(j, out, joints, joints_px);
    torch::Tensor gt_px;
    if (labels) {
      const torch::Tensor gt = labels->joint_3d[0].to(torch::kFloat64);
      gt_px = labels->joint_2d[0].to(torch::kFloat64);
      j["ground_truth"] = {{"joints_camera_mm", rows(gt, 1000.0)},
                           {"joints_px", rows(gt_px)},
                           {"mpjpe_mm", (joints - gt).norm(2, -1).mean().item<double>() * 1000.0}};
    }

    // The picture: the model's view (the crop region, enlarged, or the whole image) with the predicted
    // skeleton, and the ground truth in a second panel when there is one.
    const auto panel = [&](const torch::Tensor& px, const cv::Scalar& colour) {
      cv::Mat view;
      torch::Tensor at = px;
      if (box) {
        view = vision::crop_image(rgb, *box, kPanelSide);
        at = vision::crop_pixels(px, *box, kPanelSide);
      } else {
        view = rgb.clone();
      }
      draw_skeleton(view, at, colour);
      return view;
    };
    cv::Mat picture = panel(joints_px, kPredicted);
    if (labels) cv::hconcat(picture, panel(gt_px, kGroundTruth), picture);
    const std::string stem = (fs::path(o.out) / fs::path(path).stem()).string();
    r.json_file = stem + ".json";
    r.png_file = stem + ".png";
    io::write_file_atomic(r.json_file, j.dump(2) + "\n");
    write_png(r.png_file, picture);
    done.push_back(r);
  }
  return done;
}

void write_prediction_grid(InferenceModel& m, const data::CachedDataset& val, int64_t count, int64_t columns,
                           const std::string& png_path) {
  const int64_t patch = m.model_config.backbone.patch_size, shuffle = m.model_config.token_shuffle;
  std::vector<cv::Mat> tiles;
  for (int64_t i = 0; i < val.size() && static_cast<int64_t>(tiles.size()) < count; ++i) {
    const vision::ImageSample s = val.sample(i, patch, shuffle);
    if (!s.has_hand) continue;
    const TensorMap out = infer(m, vision::collate({s}));
    // Both skeletons in the pixels of the model's input image, drawn on it enlarged to the panel side.
    const torch::Tensor K = s.K.to(torch::kFloat64);
    const torch::Tensor pred = project(out.at("hand_joints")[0], K);
    const torch::Tensor gt = project(s.labels.at("joint_3d"), K);
    const torch::Tensor hwc = s.image.permute({1, 2, 0}).contiguous();
    const cv::Mat image(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3,
                        hwc.data_ptr());
    const double scale =
        static_cast<double>(kPanelSide) / static_cast<double>(std::max(image.rows, image.cols));
    cv::Mat tile;
    cv::resize(image, tile, cv::Size(), scale, scale, cv::INTER_CUBIC);
    // The pixel-centre rule for the enlargement.
    const auto enlarge = [&](const torch::Tensor& uv) { return (uv + 0.5) * scale - 0.5; };
    draw_skeleton(tile, enlarge(gt), kGroundTruth);
    draw_skeleton(tile, enlarge(pred), kPredicted);
    cv::Mat padded(kPanelSide, kPanelSide, CV_8UC3, cv::Scalar::all(255));
    tile.copyTo(padded(cv::Rect(0, 0, tile.cols, tile.rows)));
    tiles.push_back(padded);
  }
  if (tiles.empty()) throw ValueError("prediction grid: no validation image with a hand");
  std::vector<cv::Mat> rows_of_tiles;
  for (size_t i = 0; i < tiles.size(); i += static_cast<size_t>(columns)) {
    std::vector<cv::Mat> row(tiles.begin() + static_cast<long>(i),
                             tiles.begin() + static_cast<long>(std::min(tiles.size(), i + columns)));
    while (static_cast<int64_t>(row.size()) < columns)
      row.push_back(cv::Mat(kPanelSide, kPanelSide, CV_8UC3, cv::Scalar::all(255)));
    cv::Mat r;
    cv::hconcat(row, r);
    rows_of_tiles.push_back(r);
  }
  cv::Mat grid;
  cv::vconcat(rows_of_tiles, grid);
  write_png(png_path, grid);
}

}  // namespace amt::trainer
