// The metrics log: both files' formats, full precision, missing and non-finite values, strict reading, and
// truncation on resume.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "conformance/testing/errors.hpp"
#include "reference/core/error.hpp"
#include "trainer/metrics_log.hpp"
#include "conformance/testing/scratch_dir.hpp"

namespace amt::trainer {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

const std::vector<std::string> kColumns = {"loss", "lr", "val_mpjpe_mm"};

TEST(MetricsLog, WritesJsonlAndCsvWithHeaderAndFullPrecision) {
  ScratchDir dir;
  {
    MetricsLog log(dir.str(), "metrics", kColumns);
    log.append(1, 10, {{"loss", 0.1}, {"lr", 1e-4}});
    log.append(1, 20, {{"loss", 1.0 / 3.0}, {"lr", 1e-4}, {"val_mpjpe_mm", 42.5}});
  }
  EXPECT_EQ(slurp(dir.file("metrics.csv")),
            "epoch,step,loss,lr,val_mpjpe_mm\n"
            "1,10,0.10000000000000001,0.0001,\n"
            "1,20,0.33333333333333331,0.0001,42.5\n");
  const std::string jsonl = slurp(dir.file("metrics.jsonl"));
  EXPECT_EQ(jsonl.substr(0, jsonl.find('\n')), R"({"epoch":1,"step":10,"loss":0.1,"lr":0.0001})");
  const auto records = MetricsLog::read(dir.file("metrics.jsonl"));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].epoch, 1);
  EXPECT_EQ(records[1].step, 20);
  EXPECT_EQ(records[1].values.at("loss"), 1.0 / 3.0);  // bit-exact round trip
  EXPECT_EQ(records[1].values.at("val_mpjpe_mm"), 42.5);
  EXPECT_EQ(records[0].values.count("val_mpjpe_mm"), 0u);
}

TEST(MetricsLog, AppendFlushesSoAReaderSeesEveryRecordAtOnce) {
  ScratchDir dir;
  MetricsLog log(dir.str(), "train_log", kColumns);
  log.append(0, 1, {{"loss", 2.0}});
  EXPECT_EQ(MetricsLog::read(dir.file("train_log.jsonl")).size(), 1u);
  EXPECT_EQ(slurp(dir.file("train_log.csv")), "epoch,step,loss,lr,val_mpjpe_mm\n0,1,2,,\n");
}

TEST(MetricsLog, NonFiniteValuesAreNullAndReadBackAsNaN) {
  ScratchDir dir;
  MetricsLog log(dir.str(), "metrics", kColumns);
  log.append(1, 5,
             {{"loss", std::numeric_limits<double>::quiet_NaN()},
              {"lr", std::numeric_limits<double>::infinity()},
              {"val_mpjpe_mm", -std::numeric_limits<double>::quiet_NaN()}});
  EXPECT_EQ(slurp(log.jsonl_path()),
            "{\"epoch\":1,\"step\":5,\"loss\":null,\"lr\":null,\"val_mpjpe_mm\":null}\n");
  EXPECT_EQ(slurp(log.csv_path()), "epoch,step,loss,lr,val_mpjpe_mm\n1,5,nan,inf,nan\n");
  const auto records = MetricsLog::read(log.jsonl_path());
  ASSERT_EQ(records.size(), 1u);
  for (const auto& c : kColumns) EXPECT_TRUE(std::isnan(records[0].values.at(c))) << c;
}

TEST(MetricsLog, RejectsAValueWithNoColumnBeforeWritingAnything) {
  ScratchDir dir;
  MetricsLog log(dir.str(), "metrics", kColumns);
  const std::string msg = amt::testing::thrown_message<ValueError>([&] {
    log.append(1, 1, {{"loss", 1.0}, {"typo", 2.0}});
  });
  EXPECT_NE(msg.find("\"typo\""), std::string::npos) << msg;
  EXPECT_TRUE(MetricsLog::read(log.jsonl_path()).empty());
}

TEST(MetricsLog, RejectsBadColumnLists) {
  ScratchDir dir;
  for (const auto& columns : std::vector<std::vector<std::string>>{
           {"loss", "loss"}, {"step"}, {"epoch"}, {""}, {"a,b"}, {"a\"b"}, {"a\nb"}}) {
    EXPECT_THROW(MetricsLog(dir.str(), "metrics", columns), ValueError) << columns[0];
  }
  EXPECT_THROW(MetricsLog(dir.str(), "", kColumns), ValueError);
  EXPECT_THROW(MetricsLog(dir.str(), "a/b", kColumns), ValueError);
}

TEST(MetricsLog, ReopeningAppendsToTheSameFiles) {
  ScratchDir dir;
  { MetricsLog(dir.str(), "metrics", kColumns).append(1, 1, {{"loss", 1.0}}); }
  { MetricsLog(dir.str(), "metrics", kColumns).append(1, 2, {{"loss", 2.0}}); }
  EXPECT_EQ(MetricsLog::read(dir.file("metrics.jsonl")).size(), 2u);
  EXPECT_EQ(slurp(dir.file("metrics.csv")), "epoch,step,loss,lr,val_mpjpe_mm\n1,1,1,,\n1,2,2,,\n");
}

TEST(MetricsLog, ACsvWithOtherColumnsIsRebuiltFromTheJsonl) {
  ScratchDir dir;
  { MetricsLog(dir.str(), "metrics", {"loss", "lr"}).append(1, 1, {{"loss", 1.0}, {"lr", 0.5}}); }
  MetricsLog log(dir.str(), "metrics", {"lr", "grad_norm"});
  log.append(1, 2, {{"lr", 0.25}, {"grad_norm", 3.0}});
  EXPECT_EQ(slurp(log.csv_path()), "epoch,step,lr,grad_norm\n1,1,0.5,\n1,2,0.25,3\n");
  // The JSONL keeps the first record whole, loss included.
  EXPECT_EQ(MetricsLog::read(log.jsonl_path())[0].values.at("loss"), 1.0);
}

TEST(MetricsLog, ATornLastLineIsDroppedOnOpen) {
  ScratchDir dir;
  write_text(dir.file("metrics.jsonl"), "{\"epoch\":1,\"step\":1,\"loss\":1}\n{\"epoch\":1,\"st");
  MetricsLog log(dir.str(), "metrics", kColumns);
  log.append(1, 2, {{"loss", 2.0}});
  const auto records = MetricsLog::read(log.jsonl_path());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].step, 2);
  EXPECT_EQ(slurp(log.csv_path()), "epoch,step,loss,lr,val_mpjpe_mm\n1,1,1,,\n1,2,2,,\n");
}

TEST(MetricsLog, TruncateAfterKeepsOnlyRecordsUpToTheCheckpointAndAppendsAfterThem) {
  ScratchDir dir;
  MetricsLog log(dir.str(), "metrics", kColumns);
  for (int64_t step = 1; step <= 6; ++step) log.append(step / 3, step * 10, {{"loss", 0.1 * step}});
  log.truncate_after(30);
  log.append(1, 40, {{"loss", 99.0}});
  const auto records = MetricsLog::read(log.jsonl_path());
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[2].step, 30);
  EXPECT_EQ(records[2].values.at("loss"), 0.1 * 3);  // kept lines keep their exact values
  EXPECT_EQ(records[3].step, 40);
  EXPECT_EQ(records[3].values.at("loss"), 99.0);
  EXPECT_EQ(slurp(log.csv_path()),
            "epoch,step,loss,lr,val_mpjpe_mm\n"
            "0,10,0.10000000000000001,,\n"
            "0,20,0.20000000000000001,,\n"
            "1,30,0.30000000000000004,,\n"
            "1,40,99,,\n");
  // No temporary file is left next to the logs.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.str())) files += e.is_regular_file();
  EXPECT_EQ(files, 2);
}

TEST(MetricsLog, TruncateBeforeTheFirstRecordEmptiesTheLog) {
  ScratchDir dir;
  MetricsLog log(dir.str(), "metrics", kColumns);
  log.append(1, 10, {{"loss", 1.0}});
  log.truncate_after(0);
  EXPECT_TRUE(MetricsLog::read(log.jsonl_path()).empty());
  EXPECT_EQ(slurp(log.csv_path()), "epoch,step,loss,lr,val_mpjpe_mm\n");
}

TEST(MetricsLog, TruncateRefusesACorruptLineAndLeavesTheLogUsable) {
  ScratchDir dir;
  MetricsLog log(dir.str(), "metrics", kColumns);
  log.append(1, 10, {{"loss", 1.0}});
  { std::ofstream(log.jsonl_path(), std::ios::app) << "garbage\n"; }
  EXPECT_THROW(log.truncate_after(5), FormatError);
  log.append(1, 20, {{"loss", 2.0}});
  EXPECT_NE(slurp(log.jsonl_path()).find("\"step\":20"), std::string::npos);
}

TEST(MetricsLog, ReadNamesTheFileAndLineOfABadRecord) {
  ScratchDir dir;
  const std::string path = dir.file("metrics.jsonl");
  const std::string good = "{\"epoch\":1,\"step\":1,\"loss\":1}\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json}", "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {"{\"step\":2}", "\"epoch\""},
      {"{\"epoch\":1,\"step\":2.5}", "\"step\""},
      {"{\"epoch\":1,\"step\":2,\"loss\":\"high\"}", "\"loss\""},
  };
  for (const auto& [line, why] : cases) {
    write_text(path, good + "\n" + line + "\n" + good);
    const std::string msg = amt::testing::thrown_message<FormatError>([&] { MetricsLog::read(path); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("[line 3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find(why), std::string::npos) << msg;
  }
  EXPECT_THROW(MetricsLog::read(dir.file("absent.jsonl")), IoError);
}

TEST(MetricsLog, CannotCreateTheFolderIsAnIoErrorNamingIt) {
  ScratchDir dir;
  write_text(dir.file("plain_file"), "x");
  const std::string where = dir.file("plain_file") + "/sub";
  const std::string msg =
      amt::testing::thrown_message<IoError>([&] { MetricsLog(where, "metrics", kColumns); });
  EXPECT_NE(msg.find(where), std::string::npos) << msg;
}

}  // namespace
}  // namespace amt::trainer
