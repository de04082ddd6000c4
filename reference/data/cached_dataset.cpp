#include "reference/data/cached_dataset.hpp"

#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <opencv2/core.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "reference/core/checked.hpp"
#include "reference/core/error.hpp"
#include "reference/core/limits.hpp"
#include "reference/io/safetensors.hpp"
#include "reference/precision/faults.hpp"
#include "reference/vision/dynamic_resize.hpp"

namespace amt::data {

namespace {
const FaultRegistration kLabelsBf16Fault{
    "data.labels_stored_bf16",
    "hazard 1 / seed 000's GPU cache: ground truth (joints, 2-D joints, grasped pose) stored through bf16, "
    "quantised to 2-4 mm at 0.5-1 m, before being widened back"};
const FaultRegistration kReloadCastFault{
    "data.reload_casts_to_float",
    "hazard 4: the cache reload casts every field to a float dtype, so bool masks and int64 ids come back as "
    "fp32"};
// The P4 rule for a label on its way into the cache: stored in fp32 exactly as read.
torch::Tensor stored_label(const torch::Tensor& t) {
  if (kLabelsBf16Fault.on()) return t.to(torch::kBFloat16).to(t.scalar_type());
  return t;
}
}  // namespace

namespace {

constexpr const char* kFormat = "amt-dexycb-cache";
constexpr const char* kVersion = "1";

// The per-sample fields: dtype and shape after the leading N.
struct FieldSpec {
  const char* name;
  torch::ScalarType dtype;
  std::vector<int64_t> shape;
};
const std::vector<FieldSpec>& field_specs() {
  static const std::vector<FieldSpec> k = {
      {"image_offset", torch::kInt64, {}},
      {"image_hw", torch::kInt64, {2}},
      {"original_hw", torch::kInt64, {2}},
      {"scale", torch::kFloat64, {2}},
      {"K", torch::kFloat32, {3, 3}},
      {"E", torch::kFloat32, {4, 4}},
      {"joint_3d", torch::kFloat32, {kNumJoints, 3}},
      {"joint_2d", torch::kFloat32, {kNumJoints, 2}},
      {"joint_valid", torch::kBool, {kNumJoints}},
      {"has_hand", torch::kBool, {}},
      {"pose_m", torch::kFloat32, {kManoPoseDim}},
      {"mano_betas", torch::kFloat32, {kNumBetas}},
      {"is_left", torch::kBool, {}},
      {"object_poses", torch::kFloat32, {kMaxObjects, 3, 4}},
      {"object_ids", torch::kInt64, {kMaxObjects}},
      {"num_objects", torch::kInt64, {}},
      {"grasp_index", torch::kInt64, {}},
      {"grasped_object_id", torch::kInt64, {}},
      {"grasped_pose", torch::kFloat32, {3, 4}},
      {"sample_index", torch::kInt64, {}},
      {"serial_index", torch::kInt64, {}},
      {"subject_index", torch::kInt64, {}},
      {"frame", torch::kInt64, {}},
  };
  return k;
}

std::vector<int64_t> with_n(int64_t n, const std::vector<int64_t>& shape) {
  std::vector<int64_t> s = {n};
  s.insert(s.end(), shape.begin(), shape.end());
  return s;
}

std::string crop_text(const vision::HandCropSpec& c) {
  std::ostringstream out;
  out.precision(17);
  out << "size=" << c.size << ",margin=" << c.margin << ",min_side=" << c.min_side
      << ",jitter_shift=" << c.jitter_shift << ",jitter_scale=" << c.jitter_scale;
  return out.str();
}

vision::HandCropSpec parse_crop_text(const std::string& text, const std::string& file) {
  vision::HandCropSpec c;
  std::istringstream in(text);
  std::string item;
  int seen = 0;
  while (std::getline(in, item, ',')) {
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    try {
      size_t used = 0;
      const double v = std::stod(value, &used);
      if (used != value.size()) throw std::invalid_argument(value);
      if (key == "size")
        c.size = static_cast<int64_t>(v);
      else if (key == "margin")
        c.margin = v;
      else if (key == "min_side")
        c.min_side = v;
      else if (key == "jitter_shift")
        c.jitter_shift = v;
      else if (key == "jitter_scale")
        c.jitter_scale = v;
      else
        throw std::invalid_argument(key);
      ++seen;
    } catch (const std::exception&) {
      throw FormatError(file, "__metadata__.hand_crop", "cannot read '" + item + "'");
    }
  }
  if (seen != 5) throw FormatError(file, "__metadata__.hand_crop", "expected 5 fields, got '" + text + "'");
  try {
    vision::check_hand_crop(c);
  } catch (const ConfigError& e) {
    throw FormatError(file, "__metadata__.hand_crop", e.what());
  }
  return c;
}

// splitmix64: one well-mixed 64-bit value per (seed, epoch, sample, draw), no state to save or resume.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
double jitter_draw(const CropJitter& j, int64_t sample, int draw) {  // uniform in [−1, 1)
  const uint64_t h = mix(mix(mix(j.seed) ^ static_cast<uint64_t>(j.epoch)) ^
                         (static_cast<uint64_t>(sample) * 4 + static_cast<uint64_t>(draw)));
  return static_cast<double>(h >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

std::string resize_text(const std::optional<ResizeSpec>& r) {
  if (!r) return "native";
  return "q=" + std::to_string(r->q) + ",max_side=" + std::to_string(r->max_side) +
         ",allow_upscale=" + (r->allow_upscale ? "1" : "0");
}

}  // namespace

double hand_crop_context(const vision::HandCropSpec& spec) {
  return 1.0 + spec.jitter_scale + 2.0 * spec.jitter_shift;
}

int64_t hand_crop_stored_side(const vision::HandCropSpec& spec) {
  return static_cast<int64_t>(std::ceil(static_cast<double>(spec.size) * hand_crop_context(spec) - 1e-9));
}

std::string image_storage_name(ImageStorage storage) {
  switch (storage) {
    case ImageStorage::kUInt8:
      return "uint8";
    case ImageStorage::kBFloat16:
      return "bf16";
    case ImageStorage::kFloat32:
      return "fp32";
  }
  return "?";
}

ImageStorage parse_image_storage(const std::string& name) {
  for (ImageStorage s : {ImageStorage::kUInt8, ImageStorage::kBFloat16, ImageStorage::kFloat32})
    if (image_storage_name(s) == name) return s;
  throw ConfigError("unknown image storage '" + name + "' (expected uint8, bf16 or fp32)");
}

torch::ScalarType image_storage_dtype(ImageStorage storage) {
  switch (storage) {
    case ImageStorage::kUInt8:
      return torch::kUInt8;
    case ImageStorage::kBFloat16:
      return torch::kBFloat16;
    case ImageStorage::kFloat32:
      return torch::kFloat32;
  }
  return torch::kUInt8;
}

PreparedImage prepare_image(const cv::Mat& rgb, const ColorIntrinsics& K,
                            const std::optional<ResizeSpec>& resize, ImageStorage storage) {
  PreparedImage out;
  out.original_size = {rgb.rows, rgb.cols};
  cv::Mat resized = rgb;
  out.size = out.original_size;
  out.K = K;
  if (resize) {
    const vision::DynamicResize op(resize->q, resize->max_side, resize->allow_upscale);
    const vision::ResizedImage r = op(rgb, vision::Intrinsics{K.fx, K.fy, K.ppx, K.ppy, 0.0});
    resized = r.image;
    out.size = r.size;
    out.scale_y = r.scale_y;
    out.scale_x = r.scale_x;
    out.K = ColorIntrinsics{r.K.fx, r.K.fy, r.K.cx, r.K.cy};
  }
  switch (storage) {
    case ImageStorage::kUInt8:
      out.image = vision::image_to_tensor_u8(resized);
      break;
    // Float storage holds the ImageNet-normalised image, which is what the boundary takes a float image to
    // be; bf16 rounds the fp32-normalised values once.
    case ImageStorage::kFloat32:
      out.image = vision::normalize_image(resized);
      break;
    case ImageStorage::kBFloat16:
      out.image = vision::normalize_image(resized).to(torch::kBFloat16);
      break;
  }
  return out;
}

PreparedImage prepare_crop(const cv::Mat& rgb, const ColorIntrinsics& K, const vision::CropBox& box,
                           int64_t side) {
  PreparedImage out;
  const cv::Mat crop = vision::crop_image(rgb, box, side);
  out.image = vision::image_to_tensor_u8(crop);
  out.size = {side, side};
  // The source region a crop came from, in whole pixels: what `scale` relates the crop to.
  const int64_t region = std::max<int64_t>(1, std::llround(box.side));
  out.original_size = {region, region};
  out.scale_y = out.scale_x = static_cast<double>(side) / static_cast<double>(region);
  const vision::Intrinsics k =
      vision::crop_intrinsics(vision::Intrinsics{K.fx, K.fy, K.ppx, K.ppy, 0.0}, box, side);
  out.K = ColorIntrinsics{k.fx, k.fy, k.cx, k.cy};
  return out;
}

CachedDataset CachedDataset::build(const DexYCBReader& reader, const CacheOptions& options,
                                   const std::vector<int64_t>& indices_in) {
  if (options.threads < 1) throw ConfigError("cache: threads must be >= 1");
  std::vector<int64_t> indices = indices_in;
  if (indices.empty()) {
    for (int64_t i = 0; i < reader.size(); ++i) indices.push_back(i);
  }
  for (int64_t i : indices) reader.info(i);  // range check up front, before any work
  if (options.crop) {
    vision::check_hand_crop(*options.crop);
    if (options.storage != ImageStorage::kUInt8)
      throw ConfigError("cache: the hand crop needs uint8 image storage");
    // Hand-crop caches keep the frames with a hand: a crop needs a box (labels only, no decoding).
    std::vector<int64_t> with_hand;
    for (int64_t i : indices)
      if (reader.load(i, LoadOptions{false, false}).has_hand) with_hand.push_back(i);
    indices = std::move(with_hand);
  }
  const auto n = static_cast<int64_t>(indices.size());

  // Every DexYCB image is 640×480 (the reader enforces it), so every stored size is known before decoding and
  // the flat image buffer is allocated once, exactly.
  const vision::ImageSize native{kImageHeight, kImageWidth};
  const int64_t crop_side = options.crop ? hand_crop_stored_side(*options.crop) : 0;
  const vision::ImageSize stored =
      options.crop ? vision::ImageSize{crop_side, crop_side}
      : options.resize
          ? vision::DynamicResize(options.resize->q, options.resize->max_side, options.resize->allow_upscale)
                .target_size(native)
          : native;
  const int64_t per_image = 3 * stored.height * stored.width;

  CachedDataset ds;
  ds.storage_ = options.storage;
  for (const auto& spec : field_specs())
    ds.fields_[spec.name] = torch::zeros(with_n(n, spec.shape), spec.dtype);
  ds.fields_["images"] = torch::empty({n * per_image}, image_storage_dtype(options.storage));
  ds.fields_["image_offset"].copy_(torch::arange(n, torch::kInt64) * per_image);
  ds.fields_["E"].copy_(torch::eye(4, torch::kFloat32).expand({n, 4, 4}));
  if (options.crop) ds.fields_["crop_box"] = torch::zeros({n, 3}, torch::kFloat64);

  std::atomic<int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (int64_t row = next++; row < n; row = next++) {
      try {
        const Sample s = reader.load(indices[static_cast<size_t>(row)]);
        std::optional<vision::CropBox> box;
        if (options.crop) {
          const vision::CropBox gt = vision::hand_box(s.joint_2d, s.joint_valid, *options.crop);
          const double side = gt.side * hand_crop_context(*options.crop);
          box = vision::CropBox{gt.centre_x() - 0.5 * side, gt.centre_y() - 0.5 * side, side};
          ds.fields_.at("crop_box")[row].copy_(torch::tensor({box->x0, box->y0, box->side}, torch::kFloat64));
        }
        const PreparedImage p = box ? prepare_crop(s.image, s.intrinsics, *box, crop_side)
                                    : prepare_image(s.image, s.intrinsics, options.resize, options.storage);
        if (p.size != stored) {
          throw ShapeError("cache: sample " + std::to_string(s.info.index) + " resized to " + p.size.str() +
                           ", expected " + stored.str());
        }
        // at(), not operator[]: concurrent lookups must not be able to insert.
        TensorMap& f = ds.fields_;
        f.at("images").narrow(0, row * per_image, per_image).copy_(p.image.reshape({-1}));
        f.at("image_hw")[row].copy_(torch::tensor({p.size.height, p.size.width}, torch::kInt64));
        f.at("original_hw")[row].copy_(
            torch::tensor({p.original_size.height, p.original_size.width}, torch::kInt64));
        f.at("scale")[row].copy_(torch::tensor({p.scale_y, p.scale_x}, torch::kFloat64));
        f.at("K")[row].copy_(p.K.matrix());
        f.at("joint_3d")[row].copy_(stored_label(s.joint_3d));
        // 2-D labels follow the image with the same pixel-centre rule as K: u' = (u + 0.5)·sx − 0.5 (or the
        // crop's map).
        torch::Tensor j2 = s.joint_2d.to(torch::kFloat64);
        if (box) {
          j2 = vision::crop_pixels(j2, *box, crop_side);
        } else {
          j2.select(1, 0).add_(0.5).mul_(p.scale_x).sub_(0.5);
          j2.select(1, 1).add_(0.5).mul_(p.scale_y).sub_(0.5);
        }
        f.at("joint_2d")[row].copy_(
            stored_label(torch::where(s.joint_valid.unsqueeze(1), j2, torch::zeros_like(j2))));
        f.at("joint_valid")[row].copy_(s.joint_valid);
        f.at("has_hand")[row].fill_(s.has_hand);
        f.at("pose_m")[row].copy_(s.pose_m);
        f.at("mano_betas")[row].copy_(s.betas);
        f.at("is_left")[row].fill_(s.is_left);
        const auto objects = static_cast<int64_t>(s.ycb_ids.size());
        f.at("object_poses")[row].narrow(0, 0, objects).copy_(s.pose_y);
        f.at("object_ids")[row].narrow(0, 0, objects).copy_(torch::tensor(s.ycb_ids, torch::kInt64));
        f.at("num_objects")[row].fill_(objects);
        f.at("grasp_index")[row].fill_(s.grasp_index);
        f.at("grasped_object_id")[row].fill_(s.grasped_ycb_id);
        f.at("grasped_pose")[row].copy_(stored_label(s.grasped_pose));
        f.at("sample_index")[row].fill_(s.info.index);
        f.at("serial_index")[row].fill_(static_cast<int64_t>(s.info.serial_index));
        f.at("subject_index")[row].fill_(
            static_cast<int64_t>(reader.sequences()[static_cast<size_t>(s.info.sequence)].subject_index));
        f.at("frame")[row].fill_(s.info.frame);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < options.threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);

  ds.metadata_ = {{"format", kFormat},
                  {"version", kVersion},
                  {"image_storage", image_storage_name(options.storage)},
                  {"resize", resize_text(options.resize)},
                  {"setup", setup_name(reader.setup())},
                  {"split", split_name(reader.split())},
                  {"root", reader.root()}};
  if (options.crop) ds.metadata_["hand_crop"] = crop_text(*options.crop);
  return ds;
}

void CachedDataset::save(const std::string& path) const {
  io::write_safetensors(path, fields_, metadata_);
}

CachedDataset CachedDataset::load(const std::string& path) {
  io::Safetensors st = io::read_safetensors(path);
  CachedDataset ds;
  ds.metadata_ = st.metadata;
  const auto format = st.metadata.find("format");
  if (format == st.metadata.end() || format->second != kFormat) {
    throw FormatError(path, "__metadata__.format",
                      std::string("not an AMT DexYCB cache (expected '") + kFormat + "')");
  }
  const auto storage = st.metadata.find("image_storage");
  if (storage == st.metadata.end()) throw FormatError(path, "__metadata__.image_storage", "missing");
  try {
    ds.storage_ = parse_image_storage(storage->second);
  } catch (const ConfigError& e) {
    throw FormatError(path, "__metadata__.image_storage", e.what());
  }
  ds.fields_ = std::move(st.tensors);
  ds.check(path);
  if (kReloadCastFault.on()) {
    for (auto& [name, t] : ds.fields_) {
      if (!t.is_floating_point()) t = t.to(torch::kFloat32);
    }
  }
  return ds;
}

void CachedDataset::check(const std::string& file) const {
  auto field = [&](const std::string& name) -> const torch::Tensor& {
    const auto it = fields_.find(name);
    if (it == fields_.end()) throw FormatError(file, name, "missing field");
    return it->second;
  };
  const torch::Tensor& images = field("images");
  if (images.scalar_type() != image_storage_dtype(storage_) || images.dim() != 1) {
    throw FormatError(file, "images",
                      std::string("expected a 1-D ") + c10::toString(image_storage_dtype(storage_)) +
                          " tensor, got " + c10::toString(images.scalar_type()) + " " +
                          c10::str(images.sizes()));
  }
  const int64_t n = field("image_offset").dim() == 1 ? field("image_offset").size(0) : -1;
  for (const auto& spec : field_specs()) {
    const torch::Tensor& t = field(spec.name);
    if (t.scalar_type() != spec.dtype) {
      throw FormatError(file, spec.name,
                        std::string("stored as ") + c10::toString(t.scalar_type()) +
                            ", the cache format says " + c10::toString(spec.dtype));
    }
    if (n < 0 || t.sizes() != c10::IntArrayRef(with_n(n, spec.shape))) {
      throw FormatError(
          file, spec.name,
          "shape " + c10::str(t.sizes()) + ", expected " + c10::str(c10::IntArrayRef(with_n(n, spec.shape))));
    }
  }
  if (metadata_.count("hand_crop")) {
    parse_crop_text(metadata_.at("hand_crop"), file);
    const torch::Tensor& box = field("crop_box");
    if (box.scalar_type() != torch::kFloat64 || box.sizes() != c10::IntArrayRef({n, 3}))
      throw FormatError(file, "crop_box", "expected [N,3] float64, got " + c10::str(box.sizes()));
  }
  // Offsets must tile the flat buffer exactly, in order.
  const auto hw = field("image_hw").contiguous();
  const auto off = field("image_offset").contiguous();
  const int64_t* h = hw.data_ptr<int64_t>();
  const int64_t* o = off.data_ptr<int64_t>();
  int64_t expected = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (h[2 * i] < 1 || h[2 * i + 1] < 1 || o[i] != expected) {
      throw FormatError(file, "image_offset",
                        "image " + std::to_string(i) + " does not follow its predecessor");
    }
    check_image_side(h[2 * i], h[2 * i + 1], file + " [image_hw]: image " + std::to_string(i));
    try {
      expected = checked_add(expected, checked_mul(3, checked_mul(h[2 * i], h[2 * i + 1], "3·H·W"), "3·H·W"),
                             "the images' total size");
    } catch (const ValueError& e) {
      throw FormatError(file, "image_hw", "image " + std::to_string(i) + ": " + e.what());
    }
  }
  if (expected != images.numel()) {
    throw FormatError(
        file, "images",
        "holds " + std::to_string(images.numel()) + " values, the sizes need " + std::to_string(expected));
  }
}

int64_t CachedDataset::size() const {
  const auto it = fields_.find("image_offset");
  return it == fields_.end() ? 0 : it->second.size(0);
}

vision::ImageSize CachedDataset::image_size(int64_t i) const {
  if (i < 0 || i >= size()) throw ValueError("cache: sample " + std::to_string(i) + " out of range");
  const torch::Tensor hw = fields_.at("image_hw")[i];
  return {hw[0].item<int64_t>(), hw[1].item<int64_t>()};
}

std::vector<vision::ImageSize> CachedDataset::image_sizes() const {
  std::vector<vision::ImageSize> out;
  const torch::Tensor hw = fields_.at("image_hw").contiguous();
  const int64_t* p = hw.data_ptr<int64_t>();
  for (int64_t i = 0; i < size(); ++i) out.push_back({p[2 * i], p[2 * i + 1]});
  return out;
}

torch::Tensor CachedDataset::image(int64_t i) const {
  const vision::ImageSize s = image_size(i);
  const int64_t offset = fields_.at("image_offset")[i].item<int64_t>();
  return fields_.at("images").narrow(0, offset, 3 * s.height * s.width).view({3, s.height, s.width});
}

std::optional<vision::HandCropSpec> CachedDataset::hand_crop() const {
  const auto it = metadata_.find("hand_crop");
  if (it == metadata_.end()) return std::nullopt;
  return parse_crop_text(it->second, "cache");
}

std::vector<vision::ImageSize> CachedDataset::sample_sizes() const {
  const auto crop = hand_crop();
  if (!crop) return image_sizes();
  return std::vector<vision::ImageSize>(static_cast<size_t>(size()), {crop->size, crop->size});
}

vision::ImageSample CachedDataset::sample(int64_t i, int64_t patch, int64_t shuffle,
                                          const std::optional<CropJitter>& jitter) const {
  if (i < 0 || i >= size()) throw ValueError("cache: sample " + std::to_string(i) + " out of range");
  // Fields that the ImageSample holds as members; every other per-sample field is a label.
  static const std::set<std::string> kMembers = {"images", "image_offset", "image_hw", "original_hw", "scale",
                                                 "K",      "has_hand"};
  vision::ImageSample s;
  s.id = i;
  s.image = image(i);
  s.K = fields_.at("K")[i];
  const torch::Tensor original = fields_.at("original_hw")[i];
  s.original_size = {original[0].item<int64_t>(), original[1].item<int64_t>()};
  const torch::Tensor scale = fields_.at("scale")[i];
  s.scale_y = scale[0].item<double>();
  s.scale_x = scale[1].item<double>();
  s.has_hand = fields_.at("has_hand")[i].item<bool>();
  for (const auto& [name, t] : fields_) {
    if (kMembers.count(name) == 0) s.labels[name] = t[i];
  }
  if (const auto crop = hand_crop()) cut_crop(s, *crop, jitter);
  const vision::ImageSize size{s.image.size(1), s.image.size(2)};
  s.grid = vision::make_image_grid(size.height, size.width, patch, shuffle);
  return s;
}

void CachedDataset::cut_crop(vision::ImageSample& s, const vision::HandCropSpec& spec,
                             const std::optional<CropJitter>& jitter) const {
  // The ground-truth box sits centred in the stored context crop, 1/context of its side.
  const double stored = static_cast<double>(s.image.size(2));
  const double side = stored / hand_crop_context(spec);
  vision::CropBox box{0.5 * (stored - side) - 0.5, 0.5 * (stored - side) - 0.5, side};
  if (jitter) {
    box = vision::jitter_box(box, spec, jitter_draw(*jitter, s.id, 0), jitter_draw(*jitter, s.id, 1),
                             jitter_draw(*jitter, s.id, 2));
  }
  const double context_scale = s.scale_x;  // stored pixels per source pixel
  const bool whole = box.x0 == -0.5 && box.y0 == -0.5 && box.side == stored;
  if (!whole || spec.size != s.image.size(2)) {
    const torch::Tensor hwc = s.image.permute({1, 2, 0}).contiguous();
    const cv::Mat src(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3, hwc.data_ptr());
    s.image = vision::image_to_tensor_u8(vision::crop_image(src, box, spec.size));
    s.K = vision::crop_intrinsics(s.K.to(torch::kFloat64), box, spec.size).to(s.K.scalar_type());
    const torch::Tensor valid = s.labels.at("joint_valid").unsqueeze(1);
    const torch::Tensor j2 = s.labels.at("joint_2d");
    s.labels["joint_2d"] =
        torch::where(valid, vision::crop_pixels(j2.to(torch::kFloat64), box, spec.size).to(j2.scalar_type()),
                     torch::zeros_like(j2));
  }
  const int64_t region = std::max<int64_t>(1, std::llround(box.side / context_scale));
  s.original_size = {region, region};
  s.scale_y = s.scale_x = static_cast<double>(spec.size) / static_cast<double>(region);
}

vision::Batch CachedDataset::batch(const std::vector<int64_t>& indices, int64_t patch, int64_t shuffle,
                                   const std::optional<CropJitter>& jitter) const {
  std::vector<vision::ImageSample> samples;
  samples.reserve(indices.size());
  for (int64_t i : indices) samples.push_back(sample(i, patch, shuffle, jitter));
  return vision::collate(samples);
}

std::map<std::string, int64_t> CachedDataset::memory_bytes() const {
  std::map<std::string, int64_t> out;
  for (const auto& [name, t] : fields_) out[name] = t.numel() * static_cast<int64_t>(t.element_size());
  return out;
}

int64_t CachedDataset::total_bytes() const {
  int64_t total = 0;
  for (const auto& [name, bytes] : memory_bytes()) total += bytes;
  return total;
}

}  // namespace amt::data
