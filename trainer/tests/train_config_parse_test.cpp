// The trainer config parsed from text (what load_train_config calls, and what the fuzzer drives), and the
// fuzzer's findings: every malformed file is a typed amt::Error naming the file and the key.
#include <gtest/gtest.h>

#include <string>

#include "reference/core/error.hpp"
#include "trainer/train_config.hpp"

namespace amt::trainer {
namespace {

TEST(TrainConfigParse, TextParsesOverTheDefaults) {
  const TrainConfig c =
      parse_train_config("optim:\n  lr: 3.0e-4\n  batch_size: 2\nrun: {gate: skip}\n", "t.yaml");
  EXPECT_EQ(c.lr, 3.0e-4);
  EXPECT_EQ(c.batch_size, 2);
  EXPECT_EQ(c.gate, "skip");
  EXPECT_EQ(c.model, TrainConfig{}.model);
  EXPECT_EQ(parse_train_config("", "empty.yaml").epochs, TrainConfig{}.epochs);
}

// Found by fuzz_train_config: a key that is a sequence or a mapping reached yaml-cpp's as<std::string>() and
// escaped as YAML::TypedBadConversion ("unexpected error", exit 3) instead of a FormatError.
TEST(TrainConfigParse, ANonScalarKeyIsAFormatErrorNamingTheFile) {
  for (const char* text : {"? [a, b]\n: 1\n", "optim:\n  ? {x: 1}\n  : 2\n"}) {
    try {
      parse_train_config(text, "bad.yaml");
      FAIL() << text;
    } catch (const FormatError& e) {
      EXPECT_EQ(e.file(), "bad.yaml");
      EXPECT_NE(std::string(e.what()).find("not a scalar"), std::string::npos) << e.what();
    }
  }
}

TEST(TrainConfigParse, MalformedTextIsATypedErrorNamingTheKey) {
  try {
    parse_train_config("optim:\n  batch_size: many\n", "b.yaml");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_EQ(e.field(), "optim.batch_size");
  }
  EXPECT_THROW(parse_train_config("optim: [1, 2\n", "y.yaml"), FormatError);
  EXPECT_THROW(parse_train_config("optim:\n  epochs: 0\n", "e.yaml"), ConfigError);
}

}  // namespace
}  // namespace amt::trainer
