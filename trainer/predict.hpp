// After training: a checkpoint loaded for inference, `amt_ref_train predict CHECKPOINT IMAGE...` (per image
// the predicted joints, objects and contacts as JSON and a picture with the skeleton drawn over the image),
// and the report's grid of validation pictures. Every image takes the one data path of training:
// DynamicResize with K (or the hand crop with K), the collator, vision::model_inputs,
// precision::conform_batch, the model.
#pragma once
#include <torch/types.h>
#include <opencv2/core.hpp>

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reference/data/cached_dataset.hpp"
#include "reference/model/amt_model.hpp"
#include "reference/precision/policy.hpp"
#include "reference/vision/camera_rescale.hpp"
#include "trainer/train_config.hpp"

namespace amt::trainer {

// A checkpoint's model in eval mode with the weights the run validated (the EMA shadow when the run kept
// one), under the run's policy (or `policy` when non-empty).
struct InferenceModel {
  std::string checkpoint;  // the folder
  int64_t step = 0;
  TrainConfig config;  // the run's config.json
  model::AmtConfig model_config;
  precision::PrecisionPolicy policy = precision::PrecisionPolicy::parse("fp32");
  model::AmtModel model{nullptr};
};
InferenceModel load_for_inference(const std::string& checkpoint_dir, const std::string& policy = "");

// The model's outputs for one batch of the data path (vision::Batch from the collator), no gradients.
std::map<std::string, torch::Tensor> infer(InferenceModel& m, const vision::Batch& batch);

// The default camera when neither --K nor --calib is given and the image is not in a DexYCB tree:
// fx = fy = the image's longer side (a 53° field of view across it), principal point at the centre.
vision::Intrinsics default_intrinsics(int64_t height, int64_t width);

struct PredictOptions {
  std::string checkpoint;  // a checkpoint folder or a run folder (its best)
  std::vector<std::string> images;
  std::string out;
  std::optional<vision::Intrinsics> K;       // --K fx,fy,cx,cy
  std::string calib;                         // --calib: a DexYCB intrinsics YAML (color: fx, fy, ppx, ppy)
  std::optional<std::array<double, 4>> box;  // --box x0,y0,x1,y1 (pixels): the hand box for a crop model
  std::string policy;
};

struct PredictedImage {
  std::string image, json_file, png_file;
  std::string camera_source;  // "--K", "--calib FILE", "DexYCB calibration", "default"
  std::string box_source;     // crop models: "--box", "DexYCB labels", "whole image"; "" otherwise
  bool has_ground_truth = false;
};
std::vector<PredictedImage> predict_images(const PredictOptions& options);

// Draws a 21-joint skeleton (pixels [21,2]) over an RGB image in place: bones as lines, joints as dots, in
// `colour`, scaled to the image's size.
void draw_skeleton(cv::Mat& rgb, const torch::Tensor& joints_px, const cv::Scalar& colour);

// The report's picture: the first `count` validation samples, each the model's input image with the
// predicted skeleton (and the ground truth in another colour), tiled `columns` wide. Written as PNG.
void write_prediction_grid(InferenceModel& m, const data::CachedDataset& val, int64_t count, int64_t columns,
                           const std::string& png_path);

}  // namespace amt::trainer
