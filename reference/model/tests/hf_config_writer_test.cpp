#include <gtest/gtest.h>

#include "reference/model/hf_config_writer.hpp"
#include "reference/model/vit_config.hpp"

namespace amt::model {
namespace {

// Every preset survives hf_config_json → parse_hf_config field for field (the trainer's saved backbones load
// through the same parser as downloaded ones).
TEST(HfConfigWriter, EveryPresetRoundTrips) {
  for (const std::string& name : preset_names()) {
    VitConfig c = preset(name);
    for (const PosInterp mode : {PosInterp::kHf, PosInterp::kMeta}) {
      if (c.kind == BackboneKind::kDinov3 && mode == PosInterp::kMeta) continue;
      c.pos_interp = mode;
      const VitConfig back = parse_hf_config(hf_config_json(c), name);
      SCOPED_TRACE(name + " " + pos_interp_name(mode));
      EXPECT_EQ(back.kind, c.kind);
      EXPECT_EQ(back.hidden_size, c.hidden_size);
      EXPECT_EQ(back.num_layers, c.num_layers);
      EXPECT_EQ(back.num_heads, c.num_heads);
      EXPECT_EQ(back.intermediate_size, c.intermediate_size);
      EXPECT_EQ(back.patch_size, c.patch_size);
      EXPECT_EQ(back.image_size, c.image_size);
      EXPECT_EQ(back.layer_norm_eps, c.layer_norm_eps);
      EXPECT_EQ(back.activation, c.activation);
      EXPECT_EQ(back.gated_mlp, c.gated_mlp);
      EXPECT_EQ(back.num_register_tokens, c.num_register_tokens);
      EXPECT_EQ(back.query_bias, c.query_bias);
      EXPECT_EQ(back.key_bias, c.key_bias);
      EXPECT_EQ(back.value_bias, c.value_bias);
      if (c.kind == BackboneKind::kDinov2) {
        EXPECT_EQ(back.pos_interp, c.pos_interp);
      } else {
        EXPECT_EQ(back.rope_theta, c.rope_theta);
        EXPECT_EQ(back.proj_bias, c.proj_bias);
        EXPECT_EQ(back.mlp_bias, c.mlp_bias);
      }
    }
  }
}

}  // namespace
}  // namespace amt::model
