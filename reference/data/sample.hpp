// What the DexYCB reader hands out: the index entry of a sample (no file reads) and a loaded sample.
//
// Validity (docs/design.md §2, docs/upstream.md A4.2): a frame whose joint_3d is all −1 has no hand. Such a
// sample has has_hand = false, joint_valid all false and its joint targets are ZERO, never the −1 sentinel,
// so nothing can train on or score against −1 by accident; the raw files stay readable through read_labels().
#pragma once
#include <torch/types.h>
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "reference/data/dexycb_layout.hpp"

namespace amt::data {

// One sequence of a split, with its meta.yml and MANO betas.
struct SequenceInfo {
  std::string subject;     // "20200709-subject-01"
  int subject_index = -1;  // index into dexycb_subjects()
  std::string name;        // "20200709_141754"
  int position = -1;       // position in the subject's sorted sequence listing (what the split rules test)
  SequenceMeta meta;
  std::vector<float> betas;  // from calibration/mano_<meta.mano_calib[0]>/mano.yml
};

// The index entry of one sample (toolkit order: sequence → camera → frame).
struct SampleInfo {
  int64_t index = -1;     // position in the split
  int64_t sequence = -1;  // index into DexYCBReader::sequences()
  int serial_index = -1;  // index into dexycb_serials()
  std::string serial;
  int64_t frame = -1;
  std::string color_file;  // relative to the root
  std::string label_file;  // relative to the root
};

// A loaded sample. Tensors are float32 (labels, K: never below fp32), int64 or bool.
struct Sample {
  SampleInfo info;
  std::string subject;
  std::string sequence;
  ColorIntrinsics intrinsics;
  torch::Tensor K;  // [3,3] float32, for the 640×480 image
  std::vector<int64_t> ycb_ids;
  int64_t grasp_index = 0;     // into ycb_ids
  int64_t grasped_ycb_id = 0;  // ycb_ids[grasp_index]
  bool is_left = false;        // mano_sides[0] == "left"
  torch::Tensor betas;         // [10] float32
  bool has_hand = false;
  torch::Tensor joint_valid;   // [21] bool (all false without a hand)
  torch::Tensor joint_3d;      // [21,3] float32, metres, camera frame (zeros without a hand)
  torch::Tensor joint_2d;      // [21,2] float32, pixels (zeros without a hand)
  torch::Tensor pose_m;        // [51] float32 (zeros without a hand, as stored)
  torch::Tensor pose_y;        // [n_obj,3,4] float32, every object's pose, in ycb_ids order
  torch::Tensor grasped_pose;  // [3,4] float32, pose_y[grasp_index]
  torch::Tensor seg;           // [480,640] uint8 when requested
  cv::Mat image;               // RGB uint8 480×640 when requested
};

}  // namespace amt::data
