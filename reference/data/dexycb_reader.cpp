#include "reference/data/dexycb_reader.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "reference/core/error.hpp"

namespace amt::data {
namespace fs = std::filesystem;

namespace {

// Sorted names of the sub-directories of `dir` (plain byte order, like Python's sorted(os.listdir())).
// Files are skipped: only directories can be sequences.
std::vector<std::string> sorted_subdirectories(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec)) names.push_back(it->path().filename().string());
  }
  if (ec) throw IoError(dir, "cannot list the directory: " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

bool is_directory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

}  // namespace

DexYCBReader::DexYCBReader(std::string root, Setup setup, Split split)
    : root_(std::move(root)), setup_(setup), split_(split) {
  if (!is_directory(root_)) throw IoError(root_, "the DexYCB root is not a directory");
  const SplitRule rule = split_rule(setup, split);
  std::map<std::string, std::vector<float>> betas_by_calib;

  for (int subject_idx : rule.subjects) {
    const std::string& subject = dexycb_subjects()[static_cast<size_t>(subject_idx)];
    const std::string subject_dir = join_path(root_, subject);
    if (!is_directory(subject_dir)) continue;  // partial tree: subject not present
    const std::vector<std::string> names = sorted_subdirectories(subject_dir);
    if (names.size() > static_cast<size_t>(kSequencesPerSubject)) {
      throw FormatError(subject_dir, "",
                        "holds " + std::to_string(names.size()) + " sequence directories; DexYCB has " +
                            std::to_string(kSequencesPerSubject) + " per subject");
    }
    for (size_t pos = 0; pos < names.size(); ++pos) {
      if (!rule.has_sequence(static_cast<int>(pos))) continue;
      SequenceInfo seq;
      seq.subject = subject;
      seq.subject_index = subject_idx;
      seq.name = names[pos];
      seq.position = static_cast<int>(pos);
      seq.meta = read_meta(join_path(root_, meta_path(subject, seq.name)));
      const std::string& calib = seq.meta.mano_calib[0];
      auto it = betas_by_calib.find(calib);
      if (it == betas_by_calib.end()) {
        it = betas_by_calib.emplace(calib, read_mano_betas(join_path(root_, mano_calib_path(calib)))).first;
      }
      seq.betas = it->second;

      const auto seq_index = static_cast<int32_t>(sequences_.size());
      for (int serial_idx : rule.serials) {
        const std::string& serial = dexycb_serials()[static_cast<size_t>(serial_idx)];
        if (!is_directory(join_path(root_, subject + "/" + seq.name + "/" + serial))) continue;
        if (intrinsics_.count(serial_idx) == 0) {
          intrinsics_.emplace(serial_idx, read_intrinsics(join_path(root_, intrinsics_path(serial))));
        }
        for (int64_t f = 0; f < seq.meta.num_frames; ++f) {
          refs_.push_back({seq_index, static_cast<int32_t>(serial_idx), static_cast<int32_t>(f)});
        }
      }
      sequences_.push_back(std::move(seq));
    }
  }
}

SampleInfo DexYCBReader::info(int64_t i) const {
  if (i < 0 || i >= size()) {
    throw ValueError("DexYCB " + setup_name(setup_) + "_" + split_name(split_) + ": sample " +
                     std::to_string(i) + " out of range [0, " + std::to_string(size()) + ")");
  }
  const Ref& r = refs_[static_cast<size_t>(i)];
  const SequenceInfo& seq = sequences_[static_cast<size_t>(r.sequence)];
  SampleInfo s;
  s.index = i;
  s.sequence = r.sequence;
  s.serial_index = r.serial;
  s.serial = dexycb_serials()[static_cast<size_t>(r.serial)];
  s.frame = r.frame;
  s.color_file = color_path(seq.subject, seq.name, s.serial, r.frame);
  s.label_file = label_path(seq.subject, seq.name, s.serial, r.frame);
  return s;
}

Sample DexYCBReader::load(int64_t i, const LoadOptions& options) const {
  Sample s;
  s.info = info(i);
  const SequenceInfo& seq = sequences_[static_cast<size_t>(s.info.sequence)];
  s.subject = seq.subject;
  s.sequence = seq.name;
  s.intrinsics = intrinsics_.at(s.info.serial_index);
  s.K = s.intrinsics.matrix();
  s.ycb_ids = seq.meta.ycb_ids;
  s.grasp_index = seq.meta.ycb_grasp_ind;
  s.grasped_ycb_id = s.ycb_ids[static_cast<size_t>(s.grasp_index)];
  s.is_left = seq.meta.mano_sides[0] == "left";
  s.betas = torch::tensor(seq.betas, torch::kFloat32);

  const std::string label_file = join_path(root_, s.info.label_file);
  FrameLabels labels = read_labels(label_file, options.seg, static_cast<int64_t>(s.ycb_ids.size()));
  s.has_hand = labels_have_hand(labels.joint_3d);
  const torch::Tensor joint_3d = labels.joint_3d[0];
  const torch::Tensor joint_2d = labels.joint_2d[0];
  if (s.has_hand) {
    // A joint is valid unless all three of its coordinates carry the sentinel.
    s.joint_valid = (joint_3d != -1).any(1);
    const torch::Tensor valid = s.joint_valid.unsqueeze(1);
    s.joint_3d = torch::where(valid, joint_3d, torch::zeros_like(joint_3d));
    s.joint_2d = torch::where(valid, joint_2d, torch::zeros_like(joint_2d));
  } else {
    s.joint_valid = torch::zeros({kNumJoints}, torch::kBool);
    s.joint_3d = torch::zeros({kNumJoints, 3}, torch::kFloat32);
    s.joint_2d = torch::zeros({kNumJoints, 2}, torch::kFloat32);
  }
  s.pose_m = labels.pose_m[0];
  s.pose_y = labels.pose_y;
  s.grasped_pose = labels.pose_y[s.grasp_index];
  s.seg = labels.seg;

  if (options.image) {
    const std::string color_file = join_path(root_, s.info.color_file);
    s.image = read_color_image(color_file);
    if (s.image.rows != kImageHeight || s.image.cols != kImageWidth) {
      throw FormatError(color_file, "image",
                        "expected 640x480 (the size the intrinsics describe), got " +
                            std::to_string(s.image.cols) + "x" + std::to_string(s.image.rows));
    }
  }
  return s;
}

}  // namespace amt::data
