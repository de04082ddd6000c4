// A synthetic dataset in the exact DexYCB layout (dexycb_layout.hpp), for tests, the embedded default data of
// the main job, and tools that need a DexYCB tree.
//
// The scene: a table (checker-textured plane) seen by the 8 DexYCB cameras from a ring around it; per
// sequence 1–4 YCB objects as coloured boxes (sizes roughly the real objects'), one of them grasped; per
// frame a right or left hand skeleton (21 MANO-order joints from finger kinematics with per-frame curl and
// spread) holding the grasped object. Every camera sees the same scene: labels are that camera's view of it
// (joint_3d in metres in the camera frame, joint_2d projected with the camera's K, pose_y object → camera),
// and the image draws the bones as lines and the joints as discs with finger-dependent colours and
// depth-dependent size, plus the projected object boxes, over the textured background — so 3-D joints are
// learnable from pixels. About `no_hand_fraction` of the frames (exactly round(fraction · frames), chosen by
// the seed) have no hand: joint_3d/joint_2d −1, pose_m 0.
//
// Output is deterministic in the options (byte-identical files for the same options), independent of
// `threads`.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "reference/data/dexycb_layout.hpp"

namespace amt::data {

struct SynthOptions {
  std::vector<int> subjects = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};  // indices into dexycb_subjects()
  int sequences = 5;  // per subject (s3's val/test need ≥ 16 / ≥ 36, see dexycb_splits.hpp)
  int frames = 2;     // per sequence; each frame is seen by all 8 cameras
  uint64_t seed = 0;
  double no_hand_fraction = 0.1;
  int jpeg_quality = 90;
  bool keep_labels = true;  // return every written label in SynthResult::frames
  bool keep_seg = false;    // ... including the 300 KB masks
  int threads = 1;          // worker threads (sequences are independent)
};

// The options of `amt_synth --full-layout`: all 10 subjects × 100 sequences, `frames` frames each.
SynthOptions full_layout_options(uint64_t seed, int frames = 1);

struct SynthFrame {
  std::string color_file;  // relative to the root
  std::string label_file;  // relative to the root
  bool has_hand = false;
  FrameLabels labels;  // exactly what was written (seg only with keep_seg)
};

struct SynthResult {
  int64_t images = 0;  // colour images written (frames × cameras)
  int64_t no_hand_images = 0;
  std::map<int, ColorIntrinsics> intrinsics;  // by serial index
  std::vector<SynthFrame> frames;  // when keep_labels: in writing order (subject, sequence, frame, camera)
};

// Writes the dataset under `root` (created if needed; existing files with the same names are replaced).
// amt::ConfigError for invalid options, amt::IoError when a file cannot be written.
SynthResult synthesize_dexycb(const std::string& root, const SynthOptions& options);

}  // namespace amt::data
