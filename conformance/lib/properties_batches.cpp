// dummy_batches (V6–V7) and batch_invariance (V4–V5).
//   dummy.zero_loss_zero_grad  the dummy batch (make_dummy_batch → model_inputs) through AmtModel and
//                              compute_losses: forward and backward run, the loss is exactly 0 and every
//                              parameter's gradient is exactly 0.
//   dummy.collator             upstream's column batch → samples: a missing per-image column is a ValueError
//                              naming it (never an empty batch); through filtering, shuffling and sharding
//                              every field stays with its image; collate keeps the order.
//   batch_invariance.model     an image's outputs inside a batch equal its outputs alone (within the policy's
//                              budget).
//   batch_invariance.buckets   images of mixed sizes: encode_bucketed gives each image the tokens it gets
//   alone;
//                              concat_image_tokens has Σ Gh·Gw rows and split_image_tokens inverts it.
#include <torch/torch.h>

#include "conformance/lib/budgets.hpp"
#include "conformance/lib/gen_util.hpp"
#include "reference/core/error.hpp"
#include "reference/precision/boundary.hpp"
#include "reference/vision/batching.hpp"
#include "reference/vision/collator.hpp"
#include "reference/vision/dummy_batch.hpp"

namespace amt::conformance {

namespace {
using precision::PrecisionPolicy;

// --- dummy.zero_loss_zero_grad ---
rc::Gen<Case> gen_dummy(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.property = "dummy.zero_loss_zero_grad";
    c.config = o.config;
    c.backbone = *rc::gen::elementOf(backbone_variants(c.config));
    c.shuffle = *rc::gen::element<int64_t>(1, 2);
    c.policy = draw_low_precision_policy(o);
    const int64_t q = case_side_quantum(c);
    c.height = c.width = q;
    return c;
  });
}

Outcome run_dummy(const Case& c) {
  Outcome o;
  const PrecisionPolicy policy = PrecisionPolicy::parse(c.policy);
  const model::AmtConfig cfg = case_config(c);
  const TensorMap labels{{"joint_3d", torch::zeros({21, 3})},
                         {"joint_2d", torch::zeros({21, 2})},
                         {"grasped_pose", torch::zeros({3, 4})},
                         {"grasped_object_id", torch::zeros({}, torch::kLong)}};
  const vision::Batch dummy = vision::make_dummy_batch(cfg.backbone.patch_size, c.shuffle, labels);
  model::AmtModel& m = case_model(c, policy);
  torch::Tensor total;
  try {
    total = run_model_with_gradients(c, vision::model_inputs(dummy), policy).loss.total;
  } catch (const std::exception& e) {
    o.require(false, "dummy batch forward + backward", "error", describe_exception(e));
    return o;
  }
  o.require(total.item<double>() == 0.0, "dummy loss is exactly 0", "exact",
            "loss " + std::to_string(total.item<double>()));
  int64_t nonzero = 0;
  std::string first;
  for (const auto& item : m->named_parameters()) {
    const torch::Tensor g = item.value().grad();
    if (!g.defined()) continue;
    const int64_t n = torch::count_nonzero(g).item<int64_t>();
    if (n > 0 && first.empty()) first = item.key();
    nonzero += n;
  }
  m->zero_grad();
  o.require(nonzero == 0, "dummy gradient is exactly 0", "exact",
            std::to_string(nonzero) + " non-zero gradient elements, first in " + first);
  return o;
}

// --- dummy.collator ---
// Case fields: batch = samples; seed → sizes, has_hand, which column is dropped (none for seed % 7 == 6),
// rank.
rc::Gen<Case> gen_collator(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.property = "dummy.collator";
    c.config = o.config;
    c.backbone = *rc::gen::elementOf(backbone_variants(c.config));
    c.shuffle = *rc::gen::element<int64_t>(1, 2);
    c.batch = *rc::gen::inRange<int64_t>(1, 7);
    c.seed = draw_seed();
    return c;
  });
}

Outcome run_collator(const Case& c) {
  Outcome o;
  const model::AmtConfig cfg = case_config(c);
  const int64_t patch = cfg.backbone.patch_size, s = c.shuffle, q = patch * s;
  at::Generator gen = at::detail::createCPUGenerator(c.seed);
  auto draw = [&](int64_t lo, int64_t hi) { return torch::randint(lo, hi, {1}, gen).item<int64_t>(); };
  vision::Columns cols;
  for (int64_t i = 0; i < c.batch; ++i) {
    const int64_t h = q * draw(1, 4), w = q * draw(1, 4);
    const vision::ImageGrid g = vision::make_image_grid(h, w, patch, s);
    cols["image"].push_back(torch::full({3, h, w}, static_cast<double>(i)));
    cols["grid"].push_back(torch::tensor({g.hp, g.wp, g.gh, g.gw}, torch::kLong));
    // K carries the sample's index in fx so every field can be traced back to its image.
    cols["K"].push_back(
        torch::tensor({100.0 + i, 0.0, w / 2.0, 0.0, 100.0, h / 2.0, 0.0, 0.0, 1.0}).view({3, 3}));
    cols["original_size"].push_back(torch::tensor({h, w}, torch::kLong));
    cols["scale"].push_back(torch::ones({2}, torch::kDouble));
    cols["has_hand"].push_back(torch::tensor(i % 3 != 2));
    cols["joint_3d"].push_back(torch::full({21, 3}, static_cast<double>(i)).to(torch::kFloat));
  }
  const auto& required = vision::required_image_fields();
  const int64_t drop = static_cast<int64_t>(c.seed % (required.size() + 1));
  if (drop < static_cast<int64_t>(required.size())) {
    const std::string missing = required[drop];
    cols.erase(missing);
    std::string got;
    bool named = false;
    try {
      const auto samples = vision::samples_from_columns(cols, patch, s);
      got = "no error, " + std::to_string(samples.size()) + " sample(s) of " + std::to_string(c.batch);
    } catch (const ValueError& e) {
      named = std::string(e.what()).find("'" + missing + "'") != std::string::npos;
      got = e.what();
    } catch (const std::exception& e) {
      got = describe_exception(e);
    }
    o.require(named, "missing column '" + missing + "' is a ValueError naming it", "error", got);
    return o;
  }
  const std::vector<vision::ImageSample> samples = vision::samples_from_columns(cols, patch, s);
  o.require(static_cast<int64_t>(samples.size()) == c.batch, "every sample collated", "exact",
            std::to_string(samples.size()) + " of " + std::to_string(c.batch));
  const int64_t world = draw(1, 4), rank = draw(0, world);
  const auto kept = vision::keep_with_hand(samples).kept;
  const auto order = vision::shard_samples(vision::shuffle_samples(kept, c.seed), rank, world);
  for (const vision::ImageSample& x : order) {
    const double tag = x.image.flatten()[0].item<double>();
    const bool together = tag == static_cast<double>(x.id) && x.K[0][0].item<double>() == 100.0 + x.id &&
                          x.labels.at("joint_3d")[0][0].item<double>() == static_cast<double>(x.id) &&
                          x.grid == vision::make_image_grid(x.image.size(1), x.image.size(2), patch, s) &&
                          x.has_hand;
    o.require(together, "sample " + std::to_string(x.id) + " keeps its fields", "exact",
              "after filter/shuffle/shard (rank " + std::to_string(rank) + " of " + std::to_string(world) +
                  ") image tag " + std::to_string(tag) + ", K fx " +
                  std::to_string(x.K[0][0].item<double>()));
  }
  const vision::Batch b = vision::collate(order);
  bool same_order = b.size() == static_cast<int64_t>(order.size());
  for (int64_t i = 0; same_order && i < b.size(); ++i) same_order = b.ids[i] == order[i].id;
  o.require(same_order, "collate keeps the sample order", "exact", "ids differ after collate");
  // V2: each collated grid is its own image's, never the padded batch's.
  for (int64_t i = 0; same_order && i < b.size(); ++i) {
    const vision::ImageGrid own = vision::make_image_grid(b.images[i].size(1), b.images[i].size(2), patch, s);
    const auto row = b.grid[i];
    const bool ok = b.grids[i] == own && row[0].item<int64_t>() == own.hp &&
                    row[1].item<int64_t>() == own.wp && row[2].item<int64_t>() == own.gh &&
                    row[3].item<int64_t>() == own.gw;
    o.require(ok, "collated grid of sample " + std::to_string(b.ids[i]) + " is its image's", "exact",
              "got " + b.grids[i].str() + ", the image gives " + own.str());
  }
  return o;
}

// --- batch_invariance.model ---
rc::Gen<Case> gen_invariance(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.property = "batch_invariance.model";
    c.policy = draw_low_precision_policy(o);
    c.batch = *rc::gen::inRange<int64_t>(2, 5);
    c.image_dtype = torch::kByte;
    c.with_e = *rc::gen::arbitrary<bool>();
    draw_model_and_grid(c, o, 3, 4);
    c.seed = draw_seed();
    return c;
  });
}

Outcome run_invariance(const Case& c) {
  Outcome o;
  const PrecisionPolicy policy = PrecisionPolicy::parse(c.policy);
  const TensorMap batch = make_case_batch(c);
  const ModelRun all = run_model(c, batch, policy);
  for (int64_t b = 0; b < c.batch; ++b) {
    TensorMap one;
    for (const auto& [name, t] : batch) one[name] = t.narrow(0, b, 1);
    const ModelRun alone = run_model(c, one, policy);
    for (const char* name : {"hand_joints", "object_positions", "contact_points"}) {
      const Measure m = point_error(all.outputs.at(name).narrow(0, b, 1), alone.outputs.at(name), 1000.0);
      o.budget_check(std::string(name) + " of image " + std::to_string(b), "batch_invariance_mm", c.policy,
                     m.value, m.detail);
    }
  }
  return o;
}

// --- batch_invariance.buckets ---
// Case fields: batch = images; height/width = the largest image; seed → each image's size (the first two
// share one, so there is always a bucket of two).
rc::Gen<Case> gen_buckets(const GenOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.property = "batch_invariance.buckets";
    c.config = o.config;
    c.backbone = *rc::gen::elementOf(backbone_variants(c.config));
    c.policy = draw_low_precision_policy(o);
    c.batch = *rc::gen::inRange<int64_t>(2, 5);
    const int64_t q = case_side_quantum(c);
    c.height = q * *rc::gen::inRange<int64_t>(1, 5);
    c.width = q * *rc::gen::inRange<int64_t>(1, 5);
    c.seed = draw_seed();
    return c;
  });
}

Outcome run_buckets(const Case& c) {
  Outcome o;
  const PrecisionPolicy policy = PrecisionPolicy::parse(c.policy);
  const int64_t patch = case_config(c).backbone.patch_size;
  at::Generator gen = at::detail::createCPUGenerator(c.seed);
  std::vector<torch::Tensor> images;
  std::vector<vision::ImageGrid> grids;
  for (int64_t i = 0; i < c.batch; ++i) {
    const int64_t h = i == 1 ? images[0].size(1)
                             : patch * torch::randint(1, c.height / patch + 1, {1}, gen).item<int64_t>();
    const int64_t w =
        i == 1 ? images[0].size(2) : patch * torch::randint(1, c.width / patch + 1, {1}, gen).item<int64_t>();
    images.push_back(precision::conform_image(torch::randn({3, h, w}, gen), policy));
    grids.push_back(vision::make_image_grid(h, w, patch, 1));
  }
  model::AmtModel& m = case_model(c, policy);
  torch::NoGradGuard no_grad;
  const vision::BatchedEncoder encoder = [&](const torch::Tensor& x) {
    return m->encoder->backbone->forward(x, policy).patch;
  };
  std::vector<torch::Tensor> tokens;
  try {
    tokens = vision::encode_bucketed(images, encoder, patch);
  } catch (const std::exception& e) {
    o.require(false, "encode_bucketed", "error", describe_exception(e));
    return o;
  }
  for (int64_t i = 0; i < c.batch; ++i) {
    const torch::Tensor alone = encoder(images[i].unsqueeze(0)).squeeze(0);
    const bool shape = tokens[i].sizes() == alone.sizes();
    o.require(shape, "image " + std::to_string(i) + " token count", "exact",
              grids[i].str() + ": got " + c10::str(tokens[i].sizes()) + ", alone " + c10::str(alone.sizes()));
    if (!shape) continue;
    const Measure l2 = rel_l2(tokens[i], alone);
    o.budget_check("image " + std::to_string(i) + " tokens (" + grids[i].str() + ")",
                   "batch_invariance_rel_l2", c.policy, l2.value, l2.detail);
  }
  // V5: concatenation has exactly Σ Gh·Gw rows, in image order, and splits back exactly.
  int64_t rows = 0;
  for (const auto& g : grids) rows += g.tokens();
  try {
    const torch::Tensor cat = vision::concat_image_tokens(tokens, grids);
    o.require(cat.size(0) == rows, "concatenated rows = Σ Gh·Gw", "exact",
              "got " + std::to_string(cat.size(0)) + " rows, want " + std::to_string(rows));
    if (cat.size(0) == rows) {
      const auto back = vision::split_image_tokens(cat, grids);
      bool same = back.size() == tokens.size();
      for (size_t i = 0; same && i < back.size(); ++i) same = torch::equal(back[i], tokens[i]);
      o.require(same, "split_image_tokens inverts the concatenation", "exact",
                "a split image's tokens differ");
    }
  } catch (const std::exception& e) {
    o.require(false, "concat_image_tokens", "error", describe_exception(e));
  }
  return o;
}
}  // namespace

std::vector<Property> batch_properties() {
  return {
      {"dummy.zero_loss_zero_grad",
       "dummy_batches",
       "the dummy batch through AmtModel + compute_losses + backward: the loss is exactly 0 and every "
       "gradient exactly 0, on every backbone, projector and policy",
       {"exact", "error"},
       {{"vision.dummy_grid_1x1", "ShapeError: pixel_shuffle_2d: patch grid \\(Hp=1, Wp=1\\)"}},
       16,
       gen_dummy,
       run_dummy},
      {"dummy.collator",
       "dummy_batches",
       "column batches → samples: a missing per-image column is a ValueError naming it; every field stays "
       "with its image through filter, shuffle and shard; collate keeps the order",
       {"exact", "error"},
       {{"vision.collator_drop_grids", "is a ValueError naming it.*no error, 0 sample"},
        {"vision.grid_from_padded_size", "^collated grid of sample .* is its image's"}},
       40,
       gen_collator,
       run_collator},
      {"batch_invariance.model",
       "batch_invariance",
       "an image's joints, object positions and contact points inside a batch equal those it gets alone",
       {"batch_invariance_mm"},
       {},
       12,
       gen_invariance,
       run_invariance},
      {"batch_invariance.buckets",
       "batch_invariance",
       "images of mixed sizes: encode_bucketed gives each the backbone tokens it gets alone; the "
       "concatenation has Σ Gh·Gw rows and splits back exactly",
       {"batch_invariance_rel_l2", "exact"},
       {{"vision.batch_pad_without_mask", "tokens .*batch_invariance_rel_l2"},
        {"vision.concat_pad_tokens", "^concatenated rows = "}},
       24,
       gen_buckets,
       run_buckets},
  };
}

}  // namespace amt::conformance
