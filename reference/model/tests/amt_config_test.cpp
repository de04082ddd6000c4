// configs/*.yaml load; malformed configs are amt::ConfigError naming the file and the key.
#include <gtest/gtest.h>

#include "conformance/testing/errors.hpp"
#include "reference/core/error.hpp"
#include "reference/model/amt_config.hpp"
#include "reference/model/tests/amt_test_util.hpp"

namespace amt::model::testing {
namespace {

TEST(AmtConfig, ShippedConfigsLoad) {
  for (const auto& name : amt_config_names()) {
    const AmtConfig c = load_amt_config_file(::amt::testing::source_dir() + "/configs/" + name + ".yaml");
    EXPECT_EQ(c.name, name);
    EXPECT_EQ(c.max_side % (c.backbone.patch_size * c.token_shuffle), 0) << name;
  }
  const AmtConfig tiny = tiny_config();
  EXPECT_EQ(tiny.dim(), 192);
  EXPECT_EQ(tiny.backbone.num_layers, 4);
  EXPECT_EQ(tiny.backbone.num_heads, 3);
  EXPECT_EQ(tiny.backbone.pos_table_side(), 37);
  EXPECT_EQ(tiny.backbone.patch_size, 14);
  EXPECT_EQ(tiny.max_side, 224);
  const AmtConfig up = load_amt_config_file(::amt::testing::source_dir() + "/configs/upstream.yaml");
  EXPECT_EQ(up.dim(), 1024);
  EXPECT_EQ(up.backbone.num_layers, 24);
  EXPECT_EQ(up.object.heads, 8);
  EXPECT_EQ(up.contact.hidden, 512);
}

TEST(AmtConfig, ErrorsNameFileAndKey) {
  auto expect = [](const std::string& yaml, const std::string& key) {
    try {
      parse_amt_config(yaml, "cfg.yaml");
      ADD_FAILURE() << "accepted: " << yaml;
    } catch (const ConfigError& e) {
      const std::string w = e.what();
      EXPECT_NE(w.find("cfg.yaml"), std::string::npos) << w;
      EXPECT_NE(w.find(key), std::string::npos) << w;
    }
  };
  expect("model: {object: {heads: five}}", "model.object.heads");
  expect("model: {object: {heads: 5}}", "model.object.heads");  // 192 % 5 != 0
  expect("model: {hand: {hidden: -1}}", "model.hand.hidden");
  expect("model: {contact: {colour: 3}}", "model.contact.colour");
  expect("backbone: {preset: dinov9}", "backbone.preset");
  expect("image: {max_side: 100}", "image.max_side");
  expect("model: {dropout: 1.5}", "model.dropout");
  expect("extra: 1", "extra");
  expect("backbone: [1, 2]", "backbone");
  EXPECT_THROW(parse_amt_config("a: [", "cfg.yaml"), ConfigError);
  EXPECT_THROW(load_amt_config("definitely-not-a-config"), ConfigError);
}

// The model-config fuzzer's findings (fuzz/findings/model_config/): each is a one-line ConfigError now, not
// an escaped YAML exception, a division by zero after an overflowing product, or a NaN accepted.
TEST(AmtConfig, FuzzerFindingsAreTypedErrors) {
  const auto message = [](const std::string& yaml) {
    return ::amt::testing::thrown_message<ConfigError>([&] { parse_amt_config(yaml, "cfg.yaml"); });
  };
  EXPECT_NE(message("image:\n  ? max_side: 224\n  token_shuffle: 1\n").find("not a plain name"),
            std::string::npos);
  EXPECT_NE(
      message("backbone: {preset: dinov3-tiny}\nimage: {max_side: 256, token_shuffle: 1152921504606846976}\n")
          .find("overflows"),
      std::string::npos);
  EXPECT_NE(message("model: {dropout: .nan}\n").find("dropout"), std::string::npos);
}

}  // namespace
}  // namespace amt::model::testing
