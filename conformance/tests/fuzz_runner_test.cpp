// The fuzz runner's statistics (what conformance.md, fuzz-report.md and the gate's table print): per checked
// quantity the worst value seen over the passing cases, where it was seen, its budget, and the tightest
// budget that would still have passed; measured on a property whose errors are known in advance.
#include "conformance/lib/fuzz_runner.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "conformance/lib/budgets.hpp"

namespace amt::conformance {
namespace {

// Case k (in the order RapidCheck runs them) reports joints_mm@fp32 = fractions[k] × its budget and
// uv_px@fp32 = uv_fractions[k] × its budget, plus a structural check that always passes with value 0 (it
// must not enter the statistics). A fraction above 1 fails the case.
Property known_errors(std::vector<double> fractions, std::vector<double> uv_fractions) {
  Property p;
  p.name = "test.known_errors";
  p.family = "test";
  p.gen = [](const GenOptions&) {
    return rc::gen::map(rc::gen::inRange<uint64_t>(0, 1000000), [](uint64_t seed) {
      Case c;
      c.property = "test.known_errors";
      c.seed = seed;
      return c;
    });
  };
  auto calls = std::make_shared<size_t>(0);
  p.run = [calls, fractions, uv_fractions](const Case&) {
    const size_t k = (*calls)++ % fractions.size();
    Outcome o;
    o.budget_check("joints-" + std::to_string(k), "joints_mm", "fp32",
                   fractions[k] * budget("joints_mm", "fp32").limit);
    o.budget_check("uv-" + std::to_string(k), "uv_px", "fp32",
                   uv_fractions[k] * budget("uv_px", "fp32").limit);
    o.require(true, "dtype-" + std::to_string(k), "dtype", "");
    return o;
  };
  return p;
}

const QuantityStat& stat_of(const PropertyReport& r, const std::string& quantity) {
  for (const QuantityStat& s : r.stats)
    if (s.quantity == quantity) return s;
  throw std::runtime_error("no statistic for " + quantity);
}

TEST(FuzzRunner, WorstSeenAndTightestPassingBudgetOfAPropertyWithKnownErrors) {
  const std::vector<double> joints = {0.2, 0.7, 0.4, 0.9, 0.1}, uv = {0.5, 0.3, 0.8, 0.6, 0.05};
  const PropertyReport r = check_property(known_errors(joints, uv), static_cast<int>(joints.size()), 7);
  ASSERT_FALSE(r.failed) << r.message();
  EXPECT_EQ(r.cases, 5);
  ASSERT_EQ(r.stats.size(), 2u);  // one per budget quantity; the structural check is not a statistic
  const double joints_limit = budget("joints_mm", "fp32").limit, uv_limit = budget("uv_px", "fp32").limit;
  const QuantityStat& j = stat_of(r, "joints_mm");
  EXPECT_EQ(j.policy, "fp32");
  EXPECT_EQ(j.unit, "mm");
  EXPECT_EQ(j.worst, 0.9 * joints_limit);  // case 3: the same product the property computed
  EXPECT_EQ(j.limit, joints_limit);
  EXPECT_EQ(j.where.rfind("joints-3 in test.known_errors", 0), 0u) << j.where;
  const QuantityStat& u = stat_of(r, "uv_px");
  EXPECT_EQ(u.worst, 0.8 * uv_limit);  // case 2: each quantity keeps its own worst
  EXPECT_EQ(u.where.rfind("uv-2 in ", 0), 0u) << u.where;

  // The reports: worst seen, the budget, and the tightest budget that would still have passed (the worst
  // seen itself: a check passes when value <= limit).
  FuzzReport fr;
  fr.properties.push_back(r);
  fr.cases = r.cases;
  const nlohmann::json js = report_json(fr);
  const auto& stats = js.at("properties").at(0).at("stats");
  ASSERT_EQ(stats.size(), 2u);
  for (const auto& s : stats) {
    const bool is_joints = s.at("quantity") == "joints_mm";
    const double worst = is_joints ? 0.9 * joints_limit : 0.8 * uv_limit;
    EXPECT_EQ(s.at("worst").get<double>(), worst) << s.dump();
    EXPECT_EQ(s.at("budget").get<double>(), is_joints ? joints_limit : uv_limit) << s.dump();
    EXPECT_EQ(s.at("tightest_passing_budget").get<double>(), worst) << s.dump();
  }
  const std::string md = report_markdown(fr);
  const std::string row = "| `test.known_errors` | 5 | passed | joints_mm@fp32 | " +
                          format_value(0.9 * joints_limit) + " mm | " + format_value(joints_limit) +
                          " mm | " + format_value(0.9 * joints_limit) + " mm |";
  EXPECT_NE(md.find(row), std::string::npos) << md;
}

// Only passing cases count: a case over budget fails the property, and neither it nor the shrinking runs
// after it move the worst seen.
TEST(FuzzRunner, TheWorstSeenIsOverThePassingCasesOnly) {
  // The shrinking runs after the failure draw 0.95, 0.3, 0.6, ...: passing, and larger than anything seen.
  const std::vector<double> joints = {0.3, 0.6, 5.0, 0.95}, uv = {0.1, 0.1, 0.1, 0.1};
  const PropertyReport r = check_property(known_errors(joints, uv), 50, 7);
  ASSERT_TRUE(r.failed);
  EXPECT_EQ(r.cases, 3);  // two passing, then the failing one
  EXPECT_GT(r.shrinks, 0);
  EXPECT_EQ(stat_of(r, "joints_mm").worst, 0.6 * budget("joints_mm", "fp32").limit);
}

}  // namespace
}  // namespace amt::conformance
