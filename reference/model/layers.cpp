#include "reference/model/layers.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "reference/precision/islands.hpp"
#include "reference/precision/module_scope.hpp"

namespace amt::model {

LayerNormImpl::LayerNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
  bias = register_parameter("bias", torch::zeros({dim}));
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x, const precision::PrecisionPolicy& policy) {
  precision::ModuleScope scope(*this, policy);
  return scope.output(precision::layer_norm(scope.input(x), weight, bias, eps_, scope.policy()));
}

torch::Tensor FeedForward::forward(const torch::Tensor& x, const precision::PrecisionPolicy& policy) {
  precision::ModuleScope scope(*this, policy);
  return scope.output(compute(scope.input(x)));
}

LayerScaleImpl::LayerScaleImpl(int64_t dim, double init) {
  lambda1 = register_parameter("lambda1", torch::full({dim}, init));
}

torch::Tensor activate(const torch::Tensor& x, Activation act) {
  switch (act) {
    case Activation::kGelu:
      return torch::gelu(x);  // approximate="none": the erf form HF's "gelu" means
    case Activation::kSilu:
      return torch::silu(x);
  }
  return x;
}

torch::nn::Linear make_linear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

std::shared_ptr<torch::nn::Module> name_scope(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

namespace {

// fc1 → act → fc2 under the family's names.
class PlainMlp : public FeedForward {
 public:
  PlainMlp(int64_t dim, int64_t hidden, bool bias, Activation act, const char* in_name, const char* out_name)
      : act_(act) {
    in_ = register_module(in_name, make_linear(dim, hidden, bias));
    out_ = register_module(out_name, make_linear(hidden, dim, bias));
  }
  torch::Tensor compute(const torch::Tensor& x) override { return out_(activate(in_(x), act_)); }

 private:
  Activation act_;
  torch::nn::Linear in_{nullptr}, out_{nullptr};
};

// HF Dinov2SwiGLUFFN: one projection to both branches, split in half along the features.
class FusedSwiGlu : public FeedForward {
 public:
  FusedSwiGlu(int64_t dim, int64_t hidden) {
    weights_in = register_module("weights_in", make_linear(dim, 2 * hidden, true));
    weights_out = register_module("weights_out", make_linear(hidden, dim, true));
  }
  torch::Tensor compute(const torch::Tensor& x) override {
    const auto halves = weights_in(x).chunk(2, -1);
    return weights_out(torch::silu(halves[0]) * halves[1]);
  }

 private:
  torch::nn::Linear weights_in{nullptr}, weights_out{nullptr};
};

// HF DINOv3ViTGatedMLP.
class GatedMlp : public FeedForward {
 public:
  GatedMlp(int64_t dim, int64_t hidden, bool bias, Activation act) : act_(act) {
    gate_proj = register_module("gate_proj", make_linear(dim, hidden, bias));
    up_proj = register_module("up_proj", make_linear(dim, hidden, bias));
    down_proj = register_module("down_proj", make_linear(hidden, dim, bias));
  }
  torch::Tensor compute(const torch::Tensor& x) override {
    return down_proj(activate(gate_proj(x), act_) * up_proj(x));
  }

 private:
  Activation act_;
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};

}  // namespace

std::shared_ptr<FeedForward> make_feed_forward(const VitConfig& c) {
  if (c.kind == BackboneKind::kDinov2) {
    if (c.gated_mlp) return std::make_shared<FusedSwiGlu>(c.hidden_size, c.intermediate_size);
    return std::make_shared<PlainMlp>(c.hidden_size, c.intermediate_size, true, c.activation, "fc1", "fc2");
  }
  if (c.gated_mlp)
    return std::make_shared<GatedMlp>(c.hidden_size, c.intermediate_size, c.mlp_bias, c.activation);
  return std::make_shared<PlainMlp>(c.hidden_size, c.intermediate_size, c.mlp_bias, c.activation, "up_proj",
                                    "down_proj");
}

torch::Tensor split_heads(const torch::Tensor& x, int64_t heads) {
  const int64_t b = x.size(0), n = x.size(1), d = x.size(2) / heads;
  return x.reshape({b, n, heads, d}).transpose(1, 2);
}

torch::Tensor merge_heads(const torch::Tensor& x) {
  const int64_t b = x.size(0), h = x.size(1), n = x.size(2), d = x.size(3);
  return x.transpose(1, 2).reshape({b, n, h * d});
}

torch::Tensor scaled_dot_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  // fp64 keeps the written-out form: it is the reference the fp32 goldens are measured against.
  // bf16 keeps it too, for speed: LibTorch 2.13's CPU flash kernel runs its block GEMMs through MKL's bf16
  // GEMM, which on a CPU without AMX (measured: AMD EPYC, avx512_core_bf16) takes MKL's fp32 kernels, so
  // fused bf16 attention is as slow as fp32 (20.4 ms for S/14's [4, 6, 769, 64]) while the written-out
  // form's bf16 matmuls go to oneDNN (8.5 ms). docs/performance.md.
  if (q.scalar_type() == torch::kDouble || q.scalar_type() == torch::kBFloat16) {
    return attention_math_path(q, k, v);
  }
  // fp32 and fp16: one kernel (flash attention on the CPU), no [N, N] score tensor written and read back
  // (fp32: 20.6 against 52.3 ms written out).
  return at::scaled_dot_product_attention(q, k, v);
}

torch::Tensor attention_math_path(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  // The 1/√d scale goes on q (N·d products) rather than on the N×N scores. For the backbones' 64-wide heads
  // it is a power of two (exact in every dtype); elsewhere the two orders differ by one rounding of q.
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  const torch::Tensor scores = torch::matmul(q * scale, k.transpose(-2, -1));
  return torch::matmul(torch::softmax(scores, -1), v);
}

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}
}  // namespace

void init_vit_weights(torch::nn::Module& module, const VitConfig& cfg, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto normal = [&](torch::Tensor& p, double std) {
    // Upstream uses trunc_normal_(std, a=-2σ, b=2σ); clipping keeps the same scale without resampling.
    const torch::Tensor r = at::normal(0.0, std, p.sizes(), gen, p.options()).clamp(-2 * std, 2 * std);
    p.copy_(r);
  };
  for (auto& item : module.named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor& p = item.value();
    const std::string leaf = name.substr(name.rfind('.') + 1);
    const bool is_norm = contains(name, "norm");  // norm1, norm2, norm, layernorm
    if (leaf == "mask_token") {
      p.zero_();
    } else if (leaf == "cls_token" || leaf == "register_tokens" || leaf == "position_embeddings") {
      normal(p, 0.02);
    } else if (leaf == "lambda1") {
      p.fill_(cfg.layerscale_value);
    } else if (is_norm) {
      if (leaf == "weight")
        p.fill_(1.0);
      else
        p.zero_();
    } else if (contains(name, "patch_embeddings")) {
      const double bound =
          1.0 / std::sqrt(static_cast<double>(cfg.num_channels * cfg.patch_size * cfg.patch_size));
      p.copy_(at::rand(p.sizes(), gen, p.options()) * (2 * bound) - bound);
    } else if (ends_with(name, ".weight")) {
      normal(p, 0.02);
    } else {
      p.zero_();  // Linear biases
    }
  }
}

}  // namespace amt::model
