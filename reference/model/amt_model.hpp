// The AMT reference model (docs/design.md §2): image encoder → hand head, object decoder → fusion → contact
// decoder, and pixel-aligned refinement of the hand joints. One forward(batch, policy) over a batch that
// went through precision::conform_batch; named outputs as upstream's flat keys (docs/upstream.md A1.1).
//
// Output dtypes (P5, docs/precision.md): every output except "features/*" is in policy.output_dtype() (fp32,
// fp64 under fp64); "features/*" are in the compute dtype (bf16 under both bf16 policies).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "reference/core/tensor_map.hpp"
#include "reference/model/amt_config.hpp"
#include "reference/model/contact_decoder.hpp"
#include "reference/model/fusion.hpp"
#include "reference/model/hand_head.hpp"
#include "reference/model/image_encoder.hpp"
#include "reference/model/object_decoder.hpp"
#include "reference/model/pixel_refinement.hpp"
#include "reference/precision/plan.hpp"
#include "reference/vision/token_projector.hpp"

namespace amt::model {

class AmtModelImpl : public torch::nn::Module {
 public:
  // Builds the heads and initialises them deterministically from `seed` (fp32). The backbone is used as
  // given and never re-initialised: pass a loaded one (load_backbone) for pretrained weights, or nullptr for
  // make_backbone(cfg.backbone, seed). Parameters stay fp32; make_amt_model applies the policy.
  AmtModelImpl(const AmtConfig& cfg, uint64_t seed, std::shared_ptr<Backbone> backbone = nullptr);

  // batch: `image` [B,3,H,W] (required), `K` [B,3,3] (optional: without it no refinement, hand_joints =
  // hand_joints_coarse, as upstream), `E` [B,4,4] (optional), all conformed. Other fields are ignored.
  // Throws amt::ValueError for a missing image, amt::ShapeError for inconsistent shapes, amt::DtypeError
  // when the parameters are not in the policy's parameter dtype.
  // `plan`: a policy (the usual case) or a policy with modules kept in fp32 (precision/plan.hpp); the model's
  // parameters must have been set for the same plan (make_amt_model, precision::apply_param_dtype).
  // `probes`, when given, receives the intermediate results named in amt_probe_names() (goldens).
  TensorMap forward(const TensorMap& batch, const precision::PrecisionPlan& plan,
                    TensorMap* probes = nullptr);

  const AmtConfig& config() const { return cfg_; }

  ImageEncoder encoder{nullptr};
  vision::TokenProjector projector{nullptr};  // null when cfg.token_shuffle == 1
  HandHead hand{nullptr};
  ObjectDecoder objects{nullptr};
  Fusion fusion{nullptr};
  ContactDecoder contacts{nullptr};
  PixelRefinement refinement{nullptr};

 private:
  struct Inputs {
    torch::Tensor image, K, E;  // K, E undefined when the batch has none
  };
  struct Heads {
    HandOutput hand;
    torch::Tensor memory;  // the object decoder's memory: the patch tokens, token-projected if configured
    ObjectOutput objects;
    torch::Tensor global;
    ContactOutput contacts;
    RefinementOutput refined;  // empty without K
  };
  void init_heads(uint64_t seed);
  Inputs check_inputs(const TensorMap& batch, const precision::PrecisionPlan& plan) const;
  torch::Tensor object_memory(const EncoderOutput& encoded, const precision::PrecisionPolicy& policy);
  Heads forward_heads(const EncoderOutput& encoded, const Inputs& in,
                      const precision::PrecisionPolicy& policy);
  static TensorMap output_map(const EncoderOutput& encoded, const Heads& h);
  void record_probes(const EncoderOutput& encoded, const Heads& h, TensorMap& probes) const;
  AmtConfig cfg_;
};
TORCH_MODULE(AmtModel);

// The per-module intermediate results forward() records into `probes`, in execution order ("projector.memory"
// only with a token projector, "refinement.step<s>" only when the batch has K).
std::vector<std::string> amt_probe_names(const AmtConfig& cfg, bool with_camera);
// True for outputs in the compute dtype (features); all others are in the output dtype (P5).
bool is_feature_output(const std::string& name);

// A model ready for `policy`: AmtModel(cfg, seed, backbone) then precision::apply_param_dtype.
AmtModel make_amt_model(const AmtConfig& cfg, uint64_t seed, const precision::PrecisionPlan& plan,
                        std::shared_ptr<Backbone> backbone = nullptr);

// Loads a full-model safetensors checkpoint (named_parameters() keys) strictly into `model` and applies the
// policy's parameter dtype. amt::CheckpointError lists every problem at once.
void load_amt_weights(AmtModelImpl& model, const std::string& path, const precision::PrecisionPlan& plan);

// Loads an HF DINOv2/DINOv3 safetensors checkpoint (HF key names, strict) into the backbone of an already
// built model — after head initialisation, so nothing re-initialises it — then applies the policy's
// parameter dtype. The checkpoint must match cfg.backbone's shapes (amt::CheckpointError lists mismatches).
void load_pretrained_backbone(AmtModelImpl& model, const std::string& path,
                              const precision::PrecisionPolicy& policy);

int64_t count_parameters(const torch::nn::Module& module);

}  // namespace amt::model
