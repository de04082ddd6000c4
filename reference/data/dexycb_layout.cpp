#include "reference/data/dexycb_layout.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/npz.hpp"
#include "reference/io/yaml_file.hpp"
#include "reference/vision/image_io.hpp"

namespace amt::data {
namespace {

std::string frame_file(const char* prefix, int64_t frame, const char* ext) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s_%06lld.%s", prefix, static_cast<long long>(frame), ext);
  return buf;
}

// Converts a labels array to float32 after checking its dtype and shape.
torch::Tensor float_array(const std::string& file, const std::string& name, torch::Tensor t,
                          const std::vector<int64_t>& shape) {
  if (!t.is_floating_point()) {
    throw FormatError(file, name,
                      std::string("expected a floating array, got ") + c10::toString(t.scalar_type()));
  }
  if (t.sizes() != c10::IntArrayRef(shape)) {
    throw FormatError(file, name,
                      "expected shape " + c10::str(c10::IntArrayRef(shape)) + ", got " + c10::str(t.sizes()));
  }
  t = t.to(torch::kFloat32);
  if (!torch::isfinite(t).all().item<bool>()) throw FormatError(file, name, "non-finite values");
  return t;
}

}  // namespace

const std::array<std::string, kNumSubjects>& dexycb_subjects() {
  static const std::array<std::string, kNumSubjects> k = {
      "20200709-subject-01", "20200813-subject-02", "20200820-subject-03", "20200903-subject-04",
      "20200908-subject-05", "20200918-subject-06", "20200928-subject-07", "20201002-subject-08",
      "20201015-subject-09", "20201022-subject-10"};
  return k;
}

const std::array<std::string, kNumSerials>& dexycb_serials() {
  static const std::array<std::string, kNumSerials> k = {"836212060125", "839512060362", "840412060917",
                                                         "841412060263", "932122060857", "932122060861",
                                                         "932122061900", "932122062010"};
  return k;
}

int subject_index(const std::string& subject) {
  const auto& s = dexycb_subjects();
  for (int i = 0; i < kNumSubjects; ++i)
    if (s[static_cast<size_t>(i)] == subject) return i;
  return -1;
}

int serial_index(const std::string& serial) {
  const auto& s = dexycb_serials();
  for (int i = 0; i < kNumSerials; ++i)
    if (s[static_cast<size_t>(i)] == serial) return i;
  return -1;
}

const std::array<std::array<int, 2>, 20>& mano_bones() {
  static const std::array<std::array<int, 2>, 20> k = {
      {{0, 1},   {1, 2},   {2, 3},  {3, 4},   {0, 5},   {5, 6},   {6, 7},  {7, 8},   {0, 9},   {9, 10},
       {10, 11}, {11, 12}, {0, 13}, {13, 14}, {14, 15}, {15, 16}, {0, 17}, {17, 18}, {18, 19}, {19, 20}}};
  return k;
}

std::string meta_path(const std::string& subject, const std::string& sequence) {
  return subject + "/" + sequence + "/meta.yml";
}
std::string color_path(const std::string& subject, const std::string& sequence, const std::string& serial,
                       int64_t frame) {
  return subject + "/" + sequence + "/" + serial + "/" + frame_file("color", frame, "jpg");
}
std::string label_path(const std::string& subject, const std::string& sequence, const std::string& serial,
                       int64_t frame) {
  return subject + "/" + sequence + "/" + serial + "/" + frame_file("labels", frame, "npz");
}
std::string intrinsics_path(const std::string& serial) {
  return "calibration/intrinsics/" + serial + "_" + std::to_string(kImageWidth) + "x" +
         std::to_string(kImageHeight) + ".yml";
}
std::string mano_calib_path(const std::string& mano_calib) {
  return "calibration/mano_" + mano_calib + "/mano.yml";
}
std::string extrinsics_path(const std::string& extrinsics_id) {
  return "calibration/extrinsics_" + extrinsics_id + "/extrinsics.yml";
}
std::string join_path(const std::string& root, const std::string& relative) {
  if (root.empty()) return relative;
  return root.back() == '/' ? root + relative : root + "/" + relative;
}

// --- meta.yml
// ---------------------------------------------------------------------------------------------------

SequenceMeta read_meta(const std::string& path) {
  return parse_meta(io::read_file_bytes(path), path);
}

SequenceMeta parse_meta(const std::string& text, const std::string& path) {
  const YAML::Node doc = io::parse_yaml(text, path);
  SequenceMeta m;
  if (doc.IsMap() && doc["serials"].IsDefined())
    m.serials = io::yaml_strings(doc["serials"], path, "serials");
  if (doc.IsMap() && doc["extrinsics"].IsDefined()) {
    m.extrinsics = io::yaml_string(doc["extrinsics"], path, "extrinsics");
  }
  m.num_frames = io::yaml_int(io::yaml_child(doc, "num_frames", path, "num_frames"), path, "num_frames");
  m.ycb_ids = io::yaml_ints(io::yaml_child(doc, "ycb_ids", path, "ycb_ids"), path, "ycb_ids");
  m.ycb_grasp_ind =
      io::yaml_int(io::yaml_child(doc, "ycb_grasp_ind", path, "ycb_grasp_ind"), path, "ycb_grasp_ind");
  m.mano_sides = io::yaml_strings(io::yaml_child(doc, "mano_sides", path, "mano_sides"), path, "mano_sides");
  m.mano_calib = io::yaml_strings(io::yaml_child(doc, "mano_calib", path, "mano_calib"), path, "mano_calib");

  if (m.num_frames < 1 || m.num_frames > kMaxFramesPerSequence) {
    throw FormatError(
        path, "num_frames",
        "must be in 1.." + std::to_string(kMaxFramesPerSequence) + ", got " + std::to_string(m.num_frames));
  }
  if (m.ycb_ids.empty() || m.ycb_ids.size() > static_cast<size_t>(kMaxObjects)) {
    throw FormatError(
        path, "ycb_ids",
        "expected 1.." + std::to_string(kMaxObjects) + " ids, got " + std::to_string(m.ycb_ids.size()));
  }
  for (int64_t id : m.ycb_ids) {
    if (id < 1 || id > kNumYcbClasses)
      throw FormatError(path, "ycb_ids", "id " + std::to_string(id) + " not in 1..21");
  }
  if (m.ycb_grasp_ind < 0 || m.ycb_grasp_ind >= static_cast<int64_t>(m.ycb_ids.size())) {
    throw FormatError(path, "ycb_grasp_ind",
                      std::to_string(m.ycb_grasp_ind) + " is not an index into " +
                          std::to_string(m.ycb_ids.size()) + " ycb_ids");
  }
  if (m.mano_sides.empty() || (m.mano_sides[0] != "right" && m.mano_sides[0] != "left")) {
    throw FormatError(path, "mano_sides", "expected [right] or [left]");
  }
  if (m.mano_calib.empty() || m.mano_calib[0].empty()) throw FormatError(path, "mano_calib", "empty");
  return m;
}

std::string format_meta(const SequenceMeta& m) {
  std::string s;
  if (!m.serials.empty()) {
    s += "serials:\n";
    for (const auto& x : m.serials) s += "- '" + x + "'\n";
  }
  s += "num_frames: " + std::to_string(m.num_frames) + "\n";
  if (!m.extrinsics.empty()) s += "extrinsics: '" + m.extrinsics + "'\n";
  s += "ycb_ids:\n";
  for (int64_t id : m.ycb_ids) s += "- " + std::to_string(id) + "\n";
  s += "ycb_grasp_ind: " + std::to_string(m.ycb_grasp_ind) + "\n";
  s += "mano_sides:\n";
  for (const auto& x : m.mano_sides) s += "- " + x + "\n";
  s += "mano_calib:\n";
  for (const auto& x : m.mano_calib) s += "- " + x + "\n";
  return s;
}

// --- intrinsics
// ---------------------------------------------------------------------------------------------------

torch::Tensor ColorIntrinsics::matrix() const {
  torch::Tensor K = torch::zeros({3, 3}, torch::kFloat32);
  auto a = K.accessor<float, 2>();
  a[0][0] = static_cast<float>(fx);
  a[0][2] = static_cast<float>(ppx);
  a[1][1] = static_cast<float>(fy);
  a[1][2] = static_cast<float>(ppy);
  a[2][2] = 1.0f;
  return K;
}

ColorIntrinsics read_intrinsics(const std::string& path) {
  return parse_intrinsics(io::read_file_bytes(path), path);
}

ColorIntrinsics parse_intrinsics(const std::string& text, const std::string& path) {
  const YAML::Node doc = io::parse_yaml(text, path);
  const YAML::Node color = io::yaml_child(doc, "color", path, "color");
  ColorIntrinsics K;
  K.fx = io::yaml_double(io::yaml_child(color, "fx", path, "color.fx"), path, "color.fx");
  K.fy = io::yaml_double(io::yaml_child(color, "fy", path, "color.fy"), path, "color.fy");
  K.ppx = io::yaml_double(io::yaml_child(color, "ppx", path, "color.ppx"), path, "color.ppx");
  K.ppy = io::yaml_double(io::yaml_child(color, "ppy", path, "color.ppy"), path, "color.ppy");
  if (!(K.fx > 0)) throw FormatError(path, "color.fx", "focal length must be > 0");
  if (!(K.fy > 0)) throw FormatError(path, "color.fy", "focal length must be > 0");
  return K;
}

std::string format_intrinsics(const ColorIntrinsics& K) {
  auto block = [&](const char* name) {
    return std::string(name) + ":\n  fx: " + io::yaml_float(K.fx) + "\n  fy: " + io::yaml_float(K.fy) +
           "\n  ppx: " + io::yaml_float(K.ppx) + "\n  ppy: " + io::yaml_float(K.ppy) + "\n";
  };
  // DexYCB's files carry a depth block too; tools that expect both find both.
  return block("color") + block("depth");
}

// --- mano.yml
// ---------------------------------------------------------------------------------------------------

std::vector<float> read_mano_betas(const std::string& path) {
  return parse_mano_betas(io::read_file_bytes(path), path);
}

std::vector<float> parse_mano_betas(const std::string& text, const std::string& path) {
  const YAML::Node doc = io::parse_yaml(text, path);
  const std::vector<double> b = io::yaml_doubles(io::yaml_child(doc, "betas", path, "betas"), path, "betas");
  if (b.size() != static_cast<size_t>(kNumBetas)) {
    throw FormatError(path, "betas", "expected 10 values, got " + std::to_string(b.size()));
  }
  return std::vector<float>(b.begin(), b.end());
}

std::string format_mano_betas(const std::vector<float>& betas) {
  std::string s = "betas:\n";
  for (float b : betas) s += "- " + io::yaml_float(b) + "\n";
  return s;
}

// --- labels
// ----------------------------------------------------------------------------------------------------

FrameLabels read_labels(const std::string& path, bool with_seg, int64_t num_objects) {
  const io::NpzReader npz(path);
  FrameLabels l;
  l.joint_3d = float_array(path, "joint_3d", npz.read("joint_3d"), {1, kNumJoints, 3});
  l.joint_2d = float_array(path, "joint_2d", npz.read("joint_2d"), {1, kNumJoints, 2});
  l.pose_m = float_array(path, "pose_m", npz.read("pose_m"), {1, kManoPoseDim});
  torch::Tensor pose_y = npz.read("pose_y");
  if (pose_y.dim() != 3 || pose_y.size(1) != 3 || pose_y.size(2) != 4) {
    throw FormatError(path, "pose_y", "expected shape [n_obj, 3, 4], got " + c10::str(pose_y.sizes()));
  }
  if (num_objects >= 0 && pose_y.size(0) != num_objects) {
    throw FormatError(path, "pose_y",
                      "holds " + std::to_string(pose_y.size(0)) + " poses but meta.yml lists " +
                          std::to_string(num_objects) + " ycb_ids");
  }
  l.pose_y = float_array(path, "pose_y", pose_y, {pose_y.size(0), 3, 4});
  if (with_seg) {
    torch::Tensor seg = npz.read("seg");
    if (seg.scalar_type() != torch::kByte) {
      throw FormatError(path, "seg", std::string("expected uint8, got ") + c10::toString(seg.scalar_type()));
    }
    if (seg.sizes() != c10::IntArrayRef({kImageHeight, kImageWidth})) {
      throw FormatError(path, "seg", "expected shape [480, 640], got " + c10::str(seg.sizes()));
    }
    l.seg = seg;
  }
  return l;
}

void write_labels(const std::string& path, const FrameLabels& l, bool sync) {
  io::NpzArrays arrays;
  // The order np.savez_compressed(seg=..., pose_y=..., ...) produces in DexYCB's files.
  if (l.seg.defined()) arrays.emplace_back("seg", l.seg);
  arrays.emplace_back("pose_y", l.pose_y);
  arrays.emplace_back("pose_m", l.pose_m);
  arrays.emplace_back("joint_3d", l.joint_3d);
  arrays.emplace_back("joint_2d", l.joint_2d);
  io::write_npz(path, arrays, {}, sync);
}

bool labels_have_hand(const torch::Tensor& joint_3d) {
  return !(joint_3d == -1).all().item<bool>();
}

// --- images
// -----------------------------------------------------------------------------------------------------

cv::Mat decode_color_image(const std::string& bytes, const std::string& file) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  if (n < 4 || b[0] != 0xFF || b[1] != 0xD8) {
    throw FormatError(file, "image", "not a JPEG file (no start-of-image marker)");
  }
  // libjpeg decodes a truncated file "successfully" with grey padding and only a warning; require the
  // end-of-image marker (allowing a little trailing padding some writers add).
  bool has_eoi = false;
  for (size_t i = n - 1; i >= 1 && i + 32 >= n; --i) {
    if (b[i - 1] == 0xFF && b[i] == 0xD9) {
      has_eoi = true;
      break;
    }
  }
  if (!has_eoi) throw FormatError(file, "image", "truncated JPEG (no end-of-image marker)");
  vision::check_encoded_image_side(b, n, file);
  const cv::Mat raw(1, static_cast<int>(n), CV_8UC1, const_cast<unsigned char*>(b));
  cv::Mat bgr;
  try {
    bgr = cv::imdecode(raw, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    throw FormatError(file, "image", std::string("cannot decode: ") + e.what());
  }
  if (bgr.empty()) throw FormatError(file, "image", "cannot decode the JPEG");
  check_image_side(bgr.rows, bgr.cols, file + ": decoded image");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

cv::Mat read_color_image(const std::string& path) {
  return decode_color_image(io::read_file_bytes(path), path);
}

void write_color_image(const std::string& path, const cv::Mat& rgb, int quality, bool sync) {
  if (rgb.empty() || rgb.type() != CV_8UC3)
    throw ShapeError("write_color_image: expected RGB uint8, for " + path);
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<unsigned char> buf;
  if (!cv::imencode(".jpg", bgr, buf, {cv::IMWRITE_JPEG_QUALITY, quality})) {
    throw IoError(path, "JPEG encoding failed");
  }
  io::write_file_atomic(path, std::string(buf.begin(), buf.end()), sync);
}

}  // namespace amt::data
