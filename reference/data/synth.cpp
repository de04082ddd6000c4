#include "reference/data/synth.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "reference/core/error.hpp"
#include "reference/io/file_bytes.hpp"
#include "reference/io/yaml_file.hpp"

namespace amt::data {
namespace {

namespace fs = std::filesystem;

constexpr double kPi = 3.14159265358979323846;

// --- small geometry
// ------------------------------------------------------------------------------------------
struct V3 {
  double x = 0, y = 0, z = 0;
};
V3 operator+(V3 a, V3 b) {
  return {a.x + b.x, a.y + b.y, a.z + b.z};
}
V3 operator-(V3 a, V3 b) {
  return {a.x - b.x, a.y - b.y, a.z - b.z};
}
V3 operator*(double s, V3 a) {
  return {s * a.x, s * a.y, s * a.z};
}
double dot(V3 a, V3 b) {
  return a.x * b.x + a.y * b.y + a.z * b.z;
}
V3 cross(V3 a, V3 b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
V3 normalized(V3 a) {
  return (1.0 / std::sqrt(dot(a, a))) * a;
}

// Row-major 3×3 rotation.
struct M3 {
  std::array<double, 9> m{1, 0, 0, 0, 1, 0, 0, 0, 1};
  V3 operator*(V3 v) const {
    return {m[0] * v.x + m[1] * v.y + m[2] * v.z, m[3] * v.x + m[4] * v.y + m[5] * v.z,
            m[6] * v.x + m[7] * v.y + m[8] * v.z};
  }
  M3 operator*(const M3& o) const {
    M3 r;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        double s = 0;
        for (int k = 0; k < 3; ++k)
          s += m[static_cast<size_t>(3 * i + k)] * o.m[static_cast<size_t>(3 * k + j)];
        r.m[static_cast<size_t>(3 * i + j)] = s;
      }
    return r;
  }
  M3 transposed() const { return {{m[0], m[3], m[6], m[1], m[4], m[7], m[2], m[5], m[8]}}; }
};

// Rodrigues: rotation by `angle` about unit `axis`.
M3 axis_angle(V3 axis, double angle) {
  const double c = std::cos(angle), s = std::sin(angle), t = 1 - c;
  const double x = axis.x, y = axis.y, z = axis.z;
  return {{t * x * x + c, t * x * y - s * z, t * x * z + s * y, t * x * y + s * z, t * y * y + c,
           t * y * z - s * x, t * x * z - s * y, t * y * z + s * x, t * z * z + c}};
}

// The rotation vector (axis · angle) of R, as MANO's global rotation is stored.
V3 rotation_vector(const M3& R) {
  const auto& m = R.m;
  const double c = std::clamp((m[0] + m[4] + m[8] - 1) / 2, -1.0, 1.0);
  const double angle = std::acos(c);
  if (angle < 1e-9) return {0, 0, 0};
  V3 axis{m[7] - m[5], m[2] - m[6], m[3] - m[1]};
  const double n = std::sqrt(dot(axis, axis));
  if (n < 1e-9) {
    // angle ≈ π: the axis is the column of R + I with the largest norm.
    const std::array<V3, 3> cols = {V3{m[0] + 1, m[3], m[6]}, V3{m[1], m[4] + 1, m[7]},
                                    V3{m[2], m[5], m[8] + 1}};
    const V3* best = &cols[0];
    for (const auto& col : cols)
      if (dot(col, col) > dot(*best, *best)) best = &col;
    return angle * normalized(*best);
  }
  return (angle / n) * axis;
}

// --- deterministic randomness
// ---------------------------------------------------------------------------------- splitmix64: tiny, well
// mixed, and identical on every platform (the standard distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  double normal() {
    const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
    return std::sqrt(-2 * std::log(u1)) * std::cos(2 * kPi * u2);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }

 private:
  uint64_t s_;
};

// A seed for one named stream of the dataset (so a sequence's content does not depend on what else is
// generated).
uint64_t stream_seed(uint64_t seed, uint64_t tag, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0) {
  Rng r(seed ^ (tag * 0x9E3779B97F4A7C15ULL));
  uint64_t h = r.next();
  for (uint64_t v : {a, b, c}) h = Rng(h ^ (v + 0x632BE59BD9B4E019ULL)).next();
  return h;
}

// --- the scene
// ------------------------------------------------------------------------------------------------
struct Camera {
  ColorIntrinsics K;
  M3 R;  // world → camera
  V3 C;  // centre in world
  V3 to_camera(V3 p) const { return R * (p - C); }
};

// Rough YCB object extents in metres (x, y, z), by ycb id 1..21.
const std::array<V3, kNumYcbClasses> kObjectSize = {
    {{0.102, 0.102, 0.140}, {0.060, 0.158, 0.210}, {0.038, 0.089, 0.175}, {0.066, 0.066, 0.101},
     {0.058, 0.095, 0.190}, {0.085, 0.085, 0.033}, {0.035, 0.110, 0.089}, {0.028, 0.085, 0.073},
     {0.050, 0.097, 0.082}, {0.036, 0.190, 0.036}, {0.108, 0.108, 0.235}, {0.065, 0.098, 0.250},
     {0.159, 0.159, 0.053}, {0.080, 0.080, 0.082}, {0.050, 0.184, 0.187}, {0.085, 0.085, 0.200},
     {0.015, 0.087, 0.200}, {0.018, 0.018, 0.121}, {0.035, 0.120, 0.165}, {0.035, 0.165, 0.200},
     {0.050, 0.075, 0.050}}};

cv::Scalar object_colour(int64_t ycb_id) {
  // Hues spread over the circle so that classes are told apart by colour.
  cv::Mat hsv(1, 1, CV_8UC3, cv::Scalar(static_cast<double>((ycb_id * 47) % 180), 170, 200));
  cv::Mat rgb;
  cv::cvtColor(hsv, rgb, cv::COLOR_HSV2RGB);
  const auto p = rgb.at<cv::Vec3b>(0, 0);
  return cv::Scalar(p[0], p[1], p[2]);
}

// RGB per finger: wrist, thumb, index, middle, ring, little.
const std::array<cv::Scalar, 6> kFingerColour = {cv::Scalar(235, 235, 235), cv::Scalar(255, 50, 50),
                                                 cv::Scalar(255, 150, 30),  cv::Scalar(235, 235, 40),
                                                 cv::Scalar(40, 200, 255),  cv::Scalar(190, 70, 255)};

struct Object {
  int64_t ycb_id = 1;
  M3 R;  // object → world
  V3 t;  // centre in world
};

struct Hand {
  bool present = false;
  M3 R;                                   // hand → world
  V3 wrist;                               // world
  std::array<V3, kNumJoints> joints;      // world
  std::array<double, 45> articulation{};  // what goes into pose_m[3:48]
};

struct SequencePlan {
  int subject = 0;
  int position = 0;
  std::string name;
  SequenceMeta meta;
  bool left = false;
  double hand_scale = 1.0;
  std::vector<Object> table_objects;  // resting poses, ycb_ids order
  int grasp = 0;
  uint64_t seed = 0;
};

Camera make_camera(uint64_t seed, int c) {
  Rng r(stream_seed(seed, 1, static_cast<uint64_t>(c)));
  Camera cam;
  // Intrinsics close to DexYCB's RealSense values; stored as float so files and tensors agree exactly.
  cam.K.fx = static_cast<float>(r.uniform(600, 640));
  cam.K.fy = static_cast<float>(cam.K.fx + r.uniform(-1.5, 1.5));
  cam.K.ppx = static_cast<float>(r.uniform(308, 332));
  cam.K.ppy = static_cast<float>(r.uniform(228, 252));
  const double angle = 2 * kPi * c / kNumSerials + r.uniform(-0.2, 0.2);
  const double radius = r.uniform(0.62, 0.78), height = r.uniform(0.42, 0.6);
  cam.C = {radius * std::cos(angle), radius * std::sin(angle), height};
  const V3 target{r.uniform(-0.03, 0.03), r.uniform(-0.03, 0.03), r.uniform(0.08, 0.14)};
  const V3 z = normalized(target - cam.C);
  const V3 x = normalized(cross(z, V3{0, 0, 1}));  // image right
  const V3 y = cross(z, x);                        // image down
  cam.R = {{x.x, x.y, x.z, y.x, y.y, y.z, z.x, z.y, z.z}};
  return cam;
}

std::string sequence_name(const std::string& subject, int position) {
  // "<date>_<HHMMSS>", in position order when sorted.
  const int seconds = 10 * 3600 + 137 * position;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "_%02d%02d%02d", seconds / 3600, seconds / 60 % 60, seconds % 60);
  return subject.substr(0, 8) + buf;
}

std::string calib_name(int subject, bool left) {
  const std::string& s = dexycb_subjects()[static_cast<size_t>(subject)];
  return s.substr(0, 8) + "_100000_" + s.substr(9) + (left ? "_left" : "_right");
}

std::vector<float> subject_betas(uint64_t seed, int subject) {
  Rng r(stream_seed(seed, 2, static_cast<uint64_t>(subject)));
  std::vector<float> b(kNumBetas);
  for (auto& v : b) v = static_cast<float>(0.8 * r.normal());
  return b;
}

SequencePlan plan_sequence(uint64_t seed, int subject, int position) {
  SequencePlan p;
  p.subject = subject;
  p.position = position;
  p.seed = stream_seed(seed, 3, static_cast<uint64_t>(subject), static_cast<uint64_t>(position));
  Rng r(p.seed);
  p.name = sequence_name(dexycb_subjects()[static_cast<size_t>(subject)], position);
  p.left = r.uniform() < 0.2;
  p.hand_scale = 0.9 + 0.2 * r.uniform();
  const int n = 1 + r.below(4);
  std::set<int64_t> used;
  while (static_cast<int>(p.meta.ycb_ids.size()) < n) {
    const int64_t id = 1 + r.below(kNumYcbClasses);
    if (used.insert(id).second) p.meta.ycb_ids.push_back(id);
  }
  p.grasp = r.below(n);
  const double start = r.uniform(0, 2 * kPi);
  for (int k = 0; k < n; ++k) {
    Object o;
    o.ycb_id = p.meta.ycb_ids[static_cast<size_t>(k)];
    const V3 size = kObjectSize[static_cast<size_t>(o.ycb_id - 1)];
    const double a = start + 2 * kPi * k / n + r.uniform(-0.3, 0.3);
    const double rad = k == p.grasp ? r.uniform(0.0, 0.06) : r.uniform(0.13, 0.22);
    o.t = {rad * std::cos(a), rad * std::sin(a), size.z / 2};
    o.R = axis_angle({0, 0, 1}, r.uniform(0, 2 * kPi));
    p.table_objects.push_back(o);
  }
  p.meta.serials.assign(dexycb_serials().begin(), dexycb_serials().end());
  p.meta.extrinsics = "20200702_151821";
  p.meta.ycb_grasp_ind = p.grasp;
  p.meta.mano_sides = {p.left ? "left" : "right"};
  p.meta.mano_calib = {calib_name(subject, p.left)};
  return p;
}

// Finger kinematics in the hand frame: wrist at the origin, fingers along +y, palm facing −z, thumb on +x for
// a right hand (mirrored for a left one).
Hand make_hand(const SequencePlan& plan, Rng& r) {
  static const std::array<V3, 5> kBase = {
      {{0.025, 0.025, -0.01}, {0.022, 0.088, 0}, {0.0, 0.092, 0}, {-0.020, 0.086, 0}, {-0.038, 0.075, 0}}};
  static const std::array<std::array<double, 3>, 5> kLength = {{{0.035, 0.030, 0.025},
                                                                {0.042, 0.025, 0.021},
                                                                {0.047, 0.029, 0.023},
                                                                {0.043, 0.027, 0.022},
                                                                {0.033, 0.021, 0.020}}};
  static const std::array<double, 5> kSpread = {0.0, 0.12, 0.0, -0.10, -0.22};
  Hand h;
  h.present = true;
  const double mirror = plan.left ? -1.0 : 1.0;
  const double grip = r.uniform(0.1, 1.0);  // how closed the hand is this frame
  for (int f = 0; f < 5; ++f) {
    const V3 base = plan.hand_scale * V3{mirror * kBase[static_cast<size_t>(f)].x,
                                         kBase[static_cast<size_t>(f)].y, kBase[static_cast<size_t>(f)].z};
    const double spread = kSpread[static_cast<size_t>(f)] + r.uniform(-0.12, 0.12);
    V3 dir = f == 0 ? normalized(V3{mirror * 0.8, 0.6, -0.3})
                    : normalized(V3{mirror * std::sin(spread), std::cos(spread), 0});
    // Bending axis: in the palm plane, perpendicular to the finger, so flexion moves the tip toward −z.
    const V3 axis = normalized(cross(V3{0, 0, -1}, dir));
    V3 pos = base;
    const int first = 1 + 4 * f;
    h.joints[static_cast<size_t>(first)] = pos;
    for (int k = 0; k < 3; ++k) {
      const double bend = std::clamp(grip * (f == 0 ? 0.7 : 1.1) + r.uniform(-0.2, 0.2), 0.0, 1.5);
      dir = axis_angle(axis, -bend) * dir;
      pos = pos + plan.hand_scale * kLength[static_cast<size_t>(f)][static_cast<size_t>(k)] * dir;
      h.joints[static_cast<size_t>(first + 1 + k)] = pos;
      h.articulation[static_cast<size_t>(3 * (3 * f + k))] = bend;
      h.articulation[static_cast<size_t>(3 * (3 * f + k) + 1)] = k == 0 ? spread : 0.0;
    }
  }
  h.joints[0] = {0, 0, 0};
  // Global pose: fingers roughly toward the table centre from above, with some freedom.
  const M3 yaw = axis_angle({0, 0, 1}, r.uniform(0, 2 * kPi));
  const M3 pitch = axis_angle({1, 0, 0}, r.uniform(-1.2, 0.2));
  const M3 roll = axis_angle({0, 1, 0}, r.uniform(-0.8, 0.8));
  h.R = yaw * pitch * roll;
  h.wrist = {r.uniform(-0.1, 0.1), r.uniform(-0.1, 0.1), r.uniform(0.12, 0.24)};
  for (auto& j : h.joints) j = h.wrist + h.R * j;
  return h;
}

// The grasped object in front of the palm, moving with the hand.
Object held_object(const Object& resting, const Hand& h, double hand_scale) {
  Object o = resting;
  const V3 size = kObjectSize[static_cast<size_t>(o.ycb_id - 1)];
  const double depth = 0.5 * std::min({size.x, size.y, size.z});
  o.t = h.wrist + h.R * V3{0, 0.07 * hand_scale, -0.03 - depth};
  o.R = h.R * axis_angle({1, 0, 0}, kPi / 2);
  return o;
}

// --- rendering
// ------------------------------------------------------------------------------------------------- Textured
// background: a checker table plane (5 cm squares, with low-frequency colour variation) seen in perspective,
// and a smooth wall behind it; sequence-dependent tints.
cv::Mat render_background(const Camera& cam, uint64_t seq_seed, int c) {
  Rng r(stream_seed(seq_seed, 4, static_cast<uint64_t>(c)));
  const cv::Vec3f table_a(static_cast<float>(r.uniform(120, 190)), static_cast<float>(r.uniform(90, 150)),
                          static_cast<float>(r.uniform(60, 110)));
  const cv::Vec3f table_b = table_a * 0.7f;
  const cv::Vec3f wall(static_cast<float>(r.uniform(90, 170)), static_cast<float>(r.uniform(90, 170)),
                       static_cast<float>(r.uniform(90, 170)));
  cv::Mat noise_small(6, 8, CV_32FC3);
  for (int i = 0; i < 6 * 8 * 3; ++i)
    reinterpret_cast<float*>(noise_small.data)[i] = static_cast<float>(r.normal() * 18);
  cv::Mat noise;
  cv::resize(noise_small, noise, cv::Size(kImageWidth, kImageHeight), 0, 0, cv::INTER_CUBIC);

  cv::Mat out(kImageHeight, kImageWidth, CV_8UC3);
  const M3 Rt = cam.R.transposed();
  for (int v = 0; v < kImageHeight; ++v) {
    auto* row = out.ptr<cv::Vec3b>(v);
    const auto* nrow = noise.ptr<cv::Vec3f>(v);
    for (int u = 0; u < kImageWidth; ++u) {
      const V3 d = Rt * V3{(u - cam.K.ppx) / cam.K.fx, (v - cam.K.ppy) / cam.K.fy, 1.0};
      cv::Vec3f colour = wall * static_cast<float>(0.8 + 0.4 * v / kImageHeight);
      if (d.z < 0) {
        const double t = -cam.C.z / d.z;
        const double x = cam.C.x + t * d.x, y = cam.C.y + t * d.y;
        if (x * x + y * y < 0.45 * 0.45) {
          const bool odd =
              (static_cast<int>(std::floor(x / 0.05)) + static_cast<int>(std::floor(y / 0.05))) & 1;
          colour = odd ? table_a : table_b;
        }
      }
      colour += nrow[u];
      row[u] = cv::Vec3b(cv::saturate_cast<uint8_t>(colour[0]), cv::saturate_cast<uint8_t>(colour[1]),
                         cv::saturate_cast<uint8_t>(colour[2]));
    }
  }
  return out;
}

struct Primitive {
  double depth = 0;
  enum Kind { kFace, kBone, kJoint } kind = kFace;
  std::vector<cv::Point> polygon;  // face (pixels, 4 fractional bits)
  cv::Point a, b;                  // bone ends / joint centre (4 fractional bits)
  int size = 1;                    // line thickness (px) / radius (1/16 px)
  cv::Scalar colour;
  uint8_t label = 0;  // seg value
};

constexpr int kShift = 4;  // OpenCV drawing with 4 fractional bits for sub-pixel placement
cv::Point to_point(double u, double v) {
  return {static_cast<int>(std::lround(u * (1 << kShift))), static_cast<int>(std::lround(v * (1 << kShift)))};
}

void add_object(std::vector<Primitive>& prims, const Camera& cam, const Object& o) {
  const V3 s = 0.5 * kObjectSize[static_cast<size_t>(o.ycb_id - 1)];
  std::array<V3, 8> corners;
  for (int i = 0; i < 8; ++i) {
    const V3 local{(i & 1) ? s.x : -s.x, (i & 2) ? s.y : -s.y, (i & 4) ? s.z : -s.z};
    corners[static_cast<size_t>(i)] = cam.to_camera(o.t + o.R * local);
  }
  // Faces as corner indices (counter-clockwise seen from outside) with their outward normal axis.
  static const std::array<std::array<int, 4>, 6> kFaces = {
      {{0, 2, 6, 4}, {1, 5, 7, 3}, {0, 4, 5, 1}, {2, 3, 7, 6}, {0, 1, 3, 2}, {4, 6, 7, 5}}};
  static const std::array<V3, 6> kNormals = {
      {{-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1}}};
  const cv::Scalar base = object_colour(o.ycb_id);
  const V3 light = normalized(V3{0.3, -0.6, -0.75});  // camera frame, from above-front
  for (size_t f = 0; f < kFaces.size(); ++f) {
    V3 centre{0, 0, 0};
    bool in_front = true;
    for (int idx : kFaces[f]) {
      centre = centre + 0.25 * corners[static_cast<size_t>(idx)];
      in_front = in_front && corners[static_cast<size_t>(idx)].z > 0.05;
    }
    if (!in_front) continue;
    const V3 n = cam.R * (o.R * kNormals[f]);
    if (dot(n, centre) >= 0) continue;  // back face
    Primitive p;
    p.kind = Primitive::kFace;
    p.depth = centre.z;
    for (int idx : kFaces[f]) {
      const V3& q = corners[static_cast<size_t>(idx)];
      p.polygon.push_back(to_point(cam.K.fx * q.x / q.z + cam.K.ppx, cam.K.fy * q.y / q.z + cam.K.ppy));
    }
    const double shade = 0.45 + 0.55 * std::max(0.0, -dot(n, light));
    p.colour = base * shade;
    p.label = static_cast<uint8_t>(o.ycb_id);
    prims.push_back(std::move(p));
  }
}

void add_hand(std::vector<Primitive>& prims, const Camera& cam,
              const std::array<V3, kNumJoints>& joints_cam) {
  auto uv = [&](const V3& q) {
    return to_point(cam.K.fx * q.x / q.z + cam.K.ppx, cam.K.fy * q.y / q.z + cam.K.ppy);
  };
  for (const auto& bone : mano_bones()) {
    const V3& a = joints_cam[static_cast<size_t>(bone[0])];
    const V3& b = joints_cam[static_cast<size_t>(bone[1])];
    Primitive p;
    p.kind = Primitive::kBone;
    p.depth = 0.5 * (a.z + b.z);
    p.a = uv(a);
    p.b = uv(b);
    p.size = std::clamp(static_cast<int>(std::lround(0.009 * cam.K.fx / p.depth)), 1, 14);
    p.colour = kFingerColour[static_cast<size_t>(joint_finger(bone[1]))] * 0.75;
    p.label = kSegHand;
    prims.push_back(std::move(p));
  }
  for (int j = 0; j < kNumJoints; ++j) {
    const V3& q = joints_cam[static_cast<size_t>(j)];
    Primitive p;
    p.kind = Primitive::kJoint;
    // Joints sit just in front of their bones so that the discs stay visible.
    p.depth = q.z - 0.004;
    p.a = uv(q);
    const double radius = (j == 0 ? 0.011 : 0.007) * cam.K.fx / q.z;  // depth-dependent size
    p.size = static_cast<int>(std::lround(std::clamp(radius, 1.5, 20.0) * (1 << kShift)));
    // Nearer joints are brighter as well as larger.
    const double light = std::clamp(1.25 - 0.6 * q.z, 0.6, 1.1);
    p.colour = kFingerColour[static_cast<size_t>(joint_finger(j))] * light;
    p.label = kSegHand;
    prims.push_back(std::move(p));
  }
}

void draw(cv::Mat& rgb, cv::Mat& seg, std::vector<Primitive>& prims) {
  // Painter's algorithm, far to near — except that the hand skeleton always comes after the objects: a box
  // held in front of the palm would otherwise hide most joints in many views, and the joints are what must be
  // learnable.
  std::stable_sort(prims.begin(), prims.end(), [](const Primitive& a, const Primitive& b) {
    const bool a_hand = a.kind != Primitive::kFace, b_hand = b.kind != Primitive::kFace;
    if (a_hand != b_hand) return b_hand;
    return a.depth > b.depth;
  });
  for (const auto& p : prims) {
    const cv::Scalar label(p.label);
    switch (p.kind) {
      case Primitive::kFace:
        cv::fillConvexPoly(rgb, p.polygon, p.colour, cv::LINE_AA, kShift);
        cv::polylines(rgb, p.polygon, true, p.colour * 0.6, 1, cv::LINE_AA, kShift);
        cv::fillConvexPoly(seg, p.polygon, label, cv::LINE_8, kShift);
        break;
      case Primitive::kBone:
        cv::line(rgb, p.a, p.b, p.colour, p.size, cv::LINE_AA, kShift);
        cv::line(seg, p.a, p.b, label, p.size, cv::LINE_8, kShift);
        break;
      case Primitive::kJoint:
        cv::circle(rgb, p.a, p.size, p.colour, cv::FILLED, cv::LINE_AA, kShift);
        cv::circle(seg, p.a, p.size, label, cv::FILLED, cv::LINE_8, kShift);
        break;
    }
  }
}

torch::Tensor pose_3x4(const Camera& cam, const Object& o) {
  const M3 R = cam.R * o.R;
  const V3 t = cam.to_camera(o.t);
  torch::Tensor out = torch::empty({3, 4}, torch::kFloat32);
  auto a = out.accessor<float, 2>();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) a[i][j] = static_cast<float>(R.m[static_cast<size_t>(3 * i + j)]);
  a[0][3] = static_cast<float>(t.x);
  a[1][3] = static_cast<float>(t.y);
  a[2][3] = static_cast<float>(t.z);
  return out;
}

void make_dirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError(dir, "cannot create directory: " + ec.message());
}

struct Shared {
  const SynthOptions* options = nullptr;
  std::string root;
  std::array<Camera, kNumSerials> cameras;
  std::set<int64_t> no_hand;  // global scene-frame numbers without a hand
};

// Generates one sequence: meta.yml and, per frame and camera, the image and the labels.
std::vector<SynthFrame> write_sequence(const Shared& sh, const SequencePlan& plan, int64_t first_scene_frame,
                                       int64_t& images, int64_t& no_hand_images) {
  const SynthOptions& opt = *sh.options;
  const std::string& subject = dexycb_subjects()[static_cast<size_t>(plan.subject)];
  SequenceMeta meta = plan.meta;
  meta.num_frames = opt.frames;
  make_dirs(join_path(sh.root, subject + "/" + plan.name));
  io::write_file_atomic(join_path(sh.root, meta_path(subject, plan.name)), format_meta(meta), false);

  std::array<cv::Mat, kNumSerials> backgrounds;
  for (int c = 0; c < kNumSerials; ++c) {
    backgrounds[static_cast<size_t>(c)] = render_background(sh.cameras[static_cast<size_t>(c)], plan.seed, c);
    make_dirs(join_path(sh.root, subject + "/" + plan.name + "/" + dexycb_serials()[static_cast<size_t>(c)]));
  }

  std::vector<SynthFrame> out;
  for (int f = 0; f < opt.frames; ++f) {
    Rng r(stream_seed(plan.seed, 5, static_cast<uint64_t>(f)));
    const bool present = sh.no_hand.count(first_scene_frame + f) == 0;
    Hand hand;
    if (present) hand = make_hand(plan, r);
    std::vector<Object> objects = plan.table_objects;
    if (present) {
      objects[static_cast<size_t>(plan.grasp)] =
          held_object(plan.table_objects[static_cast<size_t>(plan.grasp)], hand, plan.hand_scale);
    }
    const double brightness = r.uniform(0.88, 1.1);

    for (int c = 0; c < kNumSerials; ++c) {
      const Camera& cam = sh.cameras[static_cast<size_t>(c)];
      const std::string& serial = dexycb_serials()[static_cast<size_t>(c)];
      FrameLabels labels;
      labels.joint_3d = torch::full({1, kNumJoints, 3}, -1.0f);
      labels.joint_2d = torch::full({1, kNumJoints, 2}, -1.0f);
      labels.pose_m = torch::zeros({1, kManoPoseDim}, torch::kFloat32);
      labels.pose_y = torch::empty({static_cast<int64_t>(objects.size()), 3, 4}, torch::kFloat32);
      for (size_t k = 0; k < objects.size(); ++k)
        labels.pose_y[static_cast<int64_t>(k)] = pose_3x4(cam, objects[k]);

      std::vector<Primitive> prims;
      for (const auto& o : objects) add_object(prims, cam, o);
      if (present) {
        std::array<V3, kNumJoints> joints_cam;
        auto j3 = labels.joint_3d.accessor<float, 3>();
        auto j2 = labels.joint_2d.accessor<float, 3>();
        for (int j = 0; j < kNumJoints; ++j) {
          // The label is the float32 value; the image is drawn from the same rounded value.
          const V3 q = cam.to_camera(hand.joints[static_cast<size_t>(j)]);
          j3[0][j][0] = static_cast<float>(q.x);
          j3[0][j][1] = static_cast<float>(q.y);
          j3[0][j][2] = static_cast<float>(q.z);
          joints_cam[static_cast<size_t>(j)] = {j3[0][j][0], j3[0][j][1], j3[0][j][2]};
          const V3& p = joints_cam[static_cast<size_t>(j)];
          j2[0][j][0] = static_cast<float>(cam.K.fx * p.x / p.z + cam.K.ppx);
          j2[0][j][1] = static_cast<float>(cam.K.fy * p.y / p.z + cam.K.ppy);
        }
        add_hand(prims, cam, joints_cam);
        auto pm = labels.pose_m.accessor<float, 2>();
        const V3 rot = rotation_vector(cam.R * hand.R);
        const V3 trans = cam.to_camera(hand.wrist);
        const std::array<double, 6> ends = {rot.x, rot.y, rot.z, trans.x, trans.y, trans.z};
        for (int i = 0; i < 3; ++i) {
          pm[0][i] = static_cast<float>(ends[static_cast<size_t>(i)]);
          pm[0][48 + i] = static_cast<float>(ends[static_cast<size_t>(3 + i)]);
        }
        for (int i = 0; i < 45; ++i)
          pm[0][3 + i] = static_cast<float>(hand.articulation[static_cast<size_t>(i)]);
      }

      cv::Mat rgb = backgrounds[static_cast<size_t>(c)] * brightness;
      cv::Mat seg = cv::Mat::zeros(kImageHeight, kImageWidth, CV_8UC1);
      draw(rgb, seg, prims);
      labels.seg = torch::from_blob(seg.data, {kImageHeight, kImageWidth}, torch::kUInt8).clone();

      SynthFrame frame;
      frame.color_file = color_path(subject, plan.name, serial, f);
      frame.label_file = label_path(subject, plan.name, serial, f);
      frame.has_hand = present;
      write_color_image(join_path(sh.root, frame.color_file), rgb, opt.jpeg_quality, false);
      write_labels(join_path(sh.root, frame.label_file), labels, false);
      ++images;
      if (!present) ++no_hand_images;
      if (opt.keep_labels) {
        if (!opt.keep_seg) labels.seg = torch::Tensor();
        frame.labels = std::move(labels);
        out.push_back(std::move(frame));
      }
    }
  }
  return out;
}

}  // namespace

SynthOptions full_layout_options(uint64_t seed, int frames) {
  SynthOptions o;
  o.subjects = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  o.sequences = kSequencesPerSubject;
  o.frames = frames;
  o.seed = seed;
  o.keep_labels = false;
  return o;
}

SynthResult synthesize_dexycb(const std::string& root, const SynthOptions& options) {
  if (options.subjects.empty()) throw ConfigError("synth: at least one subject is needed");
  std::set<int> seen;
  for (int s : options.subjects) {
    if (s < 0 || s >= kNumSubjects)
      throw ConfigError("synth: subject index " + std::to_string(s) + " not in 0..9");
    if (!seen.insert(s).second)
      throw ConfigError("synth: subject index " + std::to_string(s) + " given twice");
  }
  if (options.sequences < 1 || options.sequences > kSequencesPerSubject) {
    throw ConfigError("synth: sequences per subject must be in 1..100, got " +
                      std::to_string(options.sequences));
  }
  if (options.frames < 1) throw ConfigError("synth: frames per sequence must be >= 1");
  if (!(options.no_hand_fraction >= 0 && options.no_hand_fraction <= 1)) {
    throw ConfigError("synth: no_hand_fraction must be in [0, 1]");
  }
  if (options.jpeg_quality < 1 || options.jpeg_quality > 100)
    throw ConfigError("synth: jpeg_quality must be 1..100");
  if (options.threads < 1) throw ConfigError("synth: threads must be >= 1");

  Shared sh;
  sh.options = &options;
  sh.root = root;
  SynthResult result;
  make_dirs(join_path(root, "calibration/intrinsics"));
  std::string extrinsics = "extrinsics:\n";
  for (int c = 0; c < kNumSerials; ++c) {
    Camera& cam = sh.cameras[static_cast<size_t>(c)];
    cam = make_camera(options.seed, c);
    const std::string& serial = dexycb_serials()[static_cast<size_t>(c)];
    io::write_file_atomic(join_path(root, intrinsics_path(serial)), format_intrinsics(cam.K), false);
    result.intrinsics.emplace(c, cam.K);
    // Camera → world, 3×4 row-major, as DexYCB's extrinsics.yml stores its cameras.
    const M3 Rt = cam.R.transposed();
    extrinsics += "  '" + serial + "':\n";
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j)
        extrinsics +=
            "  - " + io::yaml_float(static_cast<float>(Rt.m[static_cast<size_t>(3 * i + j)])) + "\n";
      extrinsics += "  - " +
                    io::yaml_float(static_cast<float>(i == 0   ? cam.C.x
                                                      : i == 1 ? cam.C.y
                                                               : cam.C.z)) +
                    "\n";
    }
  }
  make_dirs(join_path(root, "calibration/extrinsics_20200702_151821"));
  io::write_file_atomic(join_path(root, extrinsics_path("20200702_151821")), extrinsics, false);

  std::vector<SequencePlan> plans;
  for (int s : options.subjects) {
    for (bool left : {false, true}) {
      const std::string calib = calib_name(s, left);
      make_dirs(join_path(root, "calibration/mano_" + calib));
      io::write_file_atomic(join_path(root, mano_calib_path(calib)),
                            format_mano_betas(subject_betas(options.seed, s)), false);
    }
    for (int i = 0; i < options.sequences; ++i) plans.push_back(plan_sequence(options.seed, s, i));
  }

  // Exactly round(fraction · scene frames) frames without a hand, chosen by the seed.
  const int64_t scene_frames = static_cast<int64_t>(plans.size()) * options.frames;
  const auto no_hand =
      static_cast<int64_t>(std::llround(options.no_hand_fraction * static_cast<double>(scene_frames)));
  std::vector<int64_t> order(static_cast<size_t>(scene_frames));
  for (int64_t i = 0; i < scene_frames; ++i) order[static_cast<size_t>(i)] = i;
  Rng pick(stream_seed(options.seed, 6));
  for (int64_t i = scene_frames - 1; i > 0; --i) {
    std::swap(order[static_cast<size_t>(i)],
              order[static_cast<size_t>(pick.next() % static_cast<uint64_t>(i + 1))]);
  }
  sh.no_hand.insert(order.begin(), order.begin() + no_hand);

  // Sequences are independent, so workers take them in any order; results are merged in plan order.
  std::vector<std::vector<SynthFrame>> per_sequence(plans.size());
  std::vector<int64_t> images(plans.size(), 0), no_hand_images(plans.size(), 0);
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (size_t i = next++; i < plans.size(); i = next++) {
      try {
        per_sequence[i] = write_sequence(sh, plans[i], static_cast<int64_t>(i) * options.frames, images[i],
                                         no_hand_images[i]);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = plans.size();
      }
    }
  };
  const int threads = std::min<int>(options.threads, static_cast<int>(plans.size()));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);

  for (size_t i = 0; i < plans.size(); ++i) {
    result.images += images[i];
    result.no_hand_images += no_hand_images[i];
    for (auto& f : per_sequence[i]) result.frames.push_back(std::move(f));
  }
  return result;
}

}  // namespace amt::data
