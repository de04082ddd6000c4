// The DexYCB on-disk layout (docs/upstream.md A4.1, docs/data.md; NVlabs/dex-ycb-toolkit dex_ycb.py):
//
//   <root>/<subject>/<sequence>/meta.yml                  serials, num_frames, extrinsics, ycb_ids,
//   ycb_grasp_ind,
//                                                         mano_sides, mano_calib
//   <root>/<subject>/<sequence>/<serial>/color_%06d.jpg   640×480 colour image (stored BGR by OpenCV, read as
//   RGB) <root>/<subject>/<sequence>/<serial>/labels_%06d.npz  seg [480,640] u1, pose_y [n_obj,3,4], pose_m
//   [1,51],
//                                                         joint_3d [1,21,3] (m, camera frame), joint_2d
//                                                         [1,21,2] (px)
//   <root>/calibration/intrinsics/<serial>_640x480.yml    color: {fx, fy, ppx, ppy}
//   <root>/calibration/mano_<mano_calib>/mano.yml         betas: [10 floats]
//   <root>/calibration/extrinsics_<id>/extrinsics.yml     extrinsics: {<serial>: [3×4 row-major]} (not read
//   here)
//
// A frame without a hand has joint_3d and joint_2d all −1 and pose_m all 0. This file holds the constants,
// the path rules and one reader (and writer, for the generator) per file kind; every reader checks what it
// reads and throws amt::FormatError(file, field, ...) or amt::IoError naming the file.
#pragma once
#include <torch/types.h>
#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace amt::data {

constexpr int kNumSubjects = 10;
constexpr int kNumSerials = 8;
constexpr int kSequencesPerSubject = 100;  // the toolkit asserts exactly this many per subject
constexpr int kNumJoints = 21;
constexpr int kNumYcbClasses = 21;  // ycb ids 1..21
constexpr int kMaxObjects = 10;     // object slots in a cached sample (upstream's max_objects)
constexpr int kManoPoseDim = 51;    // 3 global rotation + 45 PCA + 3 translation
constexpr int kNumBetas = 10;
constexpr int kImageWidth = 640;
constexpr int kImageHeight = 480;
// meta.yml's num_frames ceiling: DexYCB sequences hold 72 frames; the index (8 cameras × frames per sequence)
// must not be sized by a damaged file.
constexpr int64_t kMaxFramesPerSequence = 100000;
constexpr uint8_t kSegHand = 255;  // seg value of hand pixels (objects use their ycb id, background 0)

// The toolkit's subject and camera lists; indices into them are what the split rules select.
const std::array<std::string, kNumSubjects>& dexycb_subjects();
const std::array<std::string, kNumSerials>& dexycb_serials();
// -1 when not in the list.
int subject_index(const std::string& subject);
int serial_index(const std::string& serial);

// The 20 bones (parent, child) of the kinematic tree, as the toolkit lists them.
const std::array<std::array<int, 2>, 20>& mano_bones();
// 0 for the wrist, 1..5 for thumb, index, middle, ring, little.
inline int joint_finger(int joint) {
  return joint == 0 ? 0 : 1 + (joint - 1) / 4;
}

// --- paths, relative to the dataset root
// ---------------------------------------------------------------------
std::string meta_path(const std::string& subject, const std::string& sequence);
std::string color_path(const std::string& subject, const std::string& sequence, const std::string& serial,
                       int64_t frame);
std::string label_path(const std::string& subject, const std::string& sequence, const std::string& serial,
                       int64_t frame);
std::string intrinsics_path(const std::string& serial);      // calibration/intrinsics/<serial>_640x480.yml
std::string mano_calib_path(const std::string& mano_calib);  // calibration/mano_<calib>/mano.yml
std::string extrinsics_path(const std::string& extrinsics_id);
// root + "/" + relative.
std::string join_path(const std::string& root, const std::string& relative);

// --- meta.yml
// -------------------------------------------------------------------------------------------------
struct SequenceMeta {
  std::vector<std::string> serials;
  int64_t num_frames = 0;
  std::string extrinsics;
  std::vector<int64_t> ycb_ids;         // 1..21, one per object in pose_y
  int64_t ycb_grasp_ind = 0;            // index into ycb_ids of the grasped object
  std::vector<std::string> mano_sides;  // "right" / "left"; the toolkit uses [0]
  std::vector<std::string> mano_calib;  // calibration names; the toolkit uses [0]
};
// Checks: num_frames in 1..kMaxFramesPerSequence, 1..kMaxObjects ycb ids each in 1..21, grasp index in range,
// mano_sides[0] is right or left, mano_calib non-empty. `serials` and `extrinsics` are optional (the toolkit
// ignores them).
SequenceMeta read_meta(const std::string& path);
// The same checks on meta.yml text; `path` names it in errors (read_meta reads the file and calls this).
SequenceMeta parse_meta(const std::string& text, const std::string& path);
std::string format_meta(const SequenceMeta& meta);

// --- calibration/intrinsics/<serial>_640x480.yml
// ---------------------------------------------------------------
struct ColorIntrinsics {
  double fx = 0, fy = 0, ppx = 0, ppy = 0;
  // K = [[fx, 0, ppx], [0, fy, ppy], [0, 0, 1]] as float32 (P4: never below fp32).
  torch::Tensor matrix() const;
};
// fx, fy > 0 and finite principal point, else FormatError naming "color.fx" etc.
ColorIntrinsics read_intrinsics(const std::string& path);
ColorIntrinsics parse_intrinsics(const std::string& text, const std::string& path);
std::string format_intrinsics(const ColorIntrinsics& K);

// --- calibration/mano_<calib>/mano.yml ---------------------------------------------------------------------
std::vector<float> read_mano_betas(const std::string& path);  // exactly 10 finite numbers
std::vector<float> parse_mano_betas(const std::string& text, const std::string& path);
std::string format_mano_betas(const std::vector<float>& betas);

// --- labels_%06d.npz
// ----------------------------------------------------------------------------------------
struct FrameLabels {
  torch::Tensor joint_3d;  // [1,21,3] float32, metres, camera frame; all −1 = no hand
  torch::Tensor joint_2d;  // [1,21,2] float32, pixels of the 640×480 image; all −1 = no hand
  torch::Tensor pose_y;    // [n_obj,3,4] float32, object → camera
  torch::Tensor pose_m;    // [1,51] float32; all 0 = no hand
  torch::Tensor seg;       // [480,640] uint8 (undefined unless requested)
};
// Reads and checks shapes, dtypes (floating arrays become float32 — f2 is widened, f8 rounded, never below
// fp32 — seg must be u1) and finiteness. `num_objects` ≥ 0 also checks pose_y's first dimension (the
// sequence's ycb_ids count). Only the requested arrays are inflated.
FrameLabels read_labels(const std::string& path, bool with_seg = false, int64_t num_objects = -1);
// Writes a labels archive the way DexYCB stores it (deflate-compressed npz; numpy reads it).
void write_labels(const std::string& path, const FrameLabels& labels, bool sync = true);
// A frame has a hand unless every joint_3d value is −1 (the toolkit's sentinel).
bool labels_have_hand(const torch::Tensor& joint_3d);

// --- color_%06d.jpg
// ------------------------------------------------------------------------------------------- Decodes a
// colour image to RGB uint8. FormatError(file, "image", ...) when the file is not a complete JPEG (no SOI/EOI
// marker, so truncation is caught even though libjpeg would pad it silently) or does not decode.
cv::Mat read_color_image(const std::string& path);
cv::Mat decode_color_image(const std::string& bytes, const std::string& file);
// Encodes RGB uint8 as JPEG (BGR on disk, like cv2.imwrite) and writes it.
void write_color_image(const std::string& path, const cv::Mat& rgb, int quality = 90, bool sync = true);

}  // namespace amt::data
