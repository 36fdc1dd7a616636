#include "ml/data/generator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "db_fixture.h"

namespace lathe::ml {
namespace {

GeneratorOptions Small(uint64_t seed = 7) {
  GeneratorOptions o;
  o.customers = 300;
  o.terminals = 600;
  o.days = 4;
  o.seed = seed;
  o.start_ts = *ParseDay("2026-03-02");
  return o;
}

bool Same(const Transaction& a, const Transaction& b) {
  return a.transaction_id == b.transaction_id && a.ts == b.ts && a.customer_id == b.customer_id &&
         a.terminal_id == b.terminal_id && a.amount == b.amount && a.currency == b.currency && a.channel == b.channel &&
         a.merchant_category == b.merchant_category && a.country == b.country && a.device_id == b.device_id &&
         a.is_fraud == b.is_fraud && a.scenario == b.scenario && a.label_ts == b.label_ts;
}

TEST(Generator, SameSeedSameDaysDifferentSeedDifferent) {
  World a = World::Build(Small(7)), b = World::Build(Small(7)), c = World::Build(Small(8));
  int64_t day = Small().start_ts;
  auto da = a.GenerateDay(day), db = b.GenerateDay(day), dc = c.GenerateDay(day);
  ASSERT_EQ(da.size(), db.size());
  for (size_t i = 0; i < da.size(); ++i) ASSERT_TRUE(Same(da[i], db[i])) << i;
  bool differs = da.size() != dc.size();
  for (size_t i = 0; !differs && i < da.size(); ++i) differs = !Same(da[i], dc[i]);
  EXPECT_TRUE(differs);
  // A day does not depend on which window is generated around it.
  GeneratorOptions later = Small(7);
  later.start_ts = day + 10 * kSecondsPerDay;
  auto again = World::Build(later).GenerateDay(day);
  ASSERT_EQ(again.size(), da.size());
  for (size_t i = 0; i < da.size(); ++i) ASSERT_TRUE(Same(da[i], again[i]));
}

// Two months of 2,000 customers: overall and per-scenario fraud rates, and
// the properties that define each scenario.
class GeneratorModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    GeneratorOptions o;
    o.customers = 2000;
    o.terminals = 4000;
    o.seed = 11;
    o.start_ts = *ParseDay("2026-01-05");  // a Monday
    options_ = new GeneratorOptions(o);
    world_ = new World(World::Build(o));
    rows_ = new std::vector<Transaction>();
    for (int d = 0; d < 56; ++d) {
      auto day = world_->GenerateDay(o.start_ts + d * kSecondsPerDay);
      rows_->insert(rows_->end(), day.begin(), day.end());
    }
  }
  static void TearDownTestSuite() {
    delete rows_;
    delete world_;
    delete options_;
  }
  static GeneratorOptions* options_;
  static World* world_;
  static std::vector<Transaction>* rows_;
};
GeneratorOptions* GeneratorModel::options_;
World* GeneratorModel::world_;
std::vector<Transaction>* GeneratorModel::rows_;

TEST_F(GeneratorModel, FraudRateIsRealisticOverallAndPerScenario) {
  std::map<FraudScenario, int64_t> by;
  int64_t frauds = 0;
  for (const Transaction& t : *rows_) {
    frauds += t.is_fraud;
    by[t.scenario]++;
    EXPECT_EQ(t.is_fraud, t.scenario != FraudScenario::kNone);
  }
  double n = static_cast<double>(rows_->size());
  double rate = frauds / n;
  std::fprintf(stderr, "rows %zu fraud rate %.4f:", rows_->size(), rate);
  for (auto& [s, c] : by) std::fprintf(stderr, " %s=%.4f", std::string(ScenarioName(s)).c_str(), c / n);
  std::fprintf(stderr, "\n");
  EXPECT_GT(rate, 0.005) << rate;
  EXPECT_LT(rate, 0.01) << rate;
  // Each scenario contributes, none dominates.
  for (FraudScenario s : {FraudScenario::kLargeAmount, FraudScenario::kCompromisedTerminal,
                          FraudScenario::kCompromisedCustomer, FraudScenario::kCardTesting,
                          FraudScenario::kAccountTakeover}) {
    double share = by[s] / n;
    EXPECT_GT(share, 0.0003) << ScenarioName(s) << " " << share;
    EXPECT_LT(share, 0.004) << ScenarioName(s) << " " << share;
  }
}

TEST_F(GeneratorModel, ScenariosHaveTheirDefiningShape) {
  const auto& customers = world_->customers();
  std::map<int64_t, std::set<std::string>> devices_before;  // customer -> ordinary devices
  for (const Transaction& t : *rows_) {
    const Customer& c = customers[static_cast<size_t>(t.customer_id - 1)];
    if (t.is_fraud) {
      EXPECT_GE(t.label_ts, t.ts + kSecondsPerDay);  // chargebacks take at least a day
      EXPECT_LE(t.label_ts, t.ts + 91 * kSecondsPerDay);
    } else {
      EXPECT_EQ(t.label_ts, 0);
    }
    switch (t.scenario) {
      case FraudScenario::kLargeAmount: EXPECT_GT(t.amount, c.mean_amount * 6); break;
      case FraudScenario::kCardTesting:
        EXPECT_LT(t.amount, 3.0);
        EXPECT_EQ(t.channel, "online");
        EXPECT_EQ(t.device_id.rfind("ct", 0), 0u);
        break;
      case FraudScenario::kAccountTakeover:
        EXPECT_NE(t.country, c.country);
        EXPECT_EQ(t.device_id.rfind("ato", 0), 0u);
        break;
      case FraudScenario::kNone:
        if (!t.device_id.empty()) {
          EXPECT_EQ(t.device_id, "d" + std::to_string(c.id));
        }
        if (t.channel == "online") {
          EXPECT_EQ(t.country, c.country);
        }
        break;
      default: break;
    }
  }
}

TEST_F(GeneratorModel, CompromisedTerminalsTakeEveryTransactionForWeeks) {
  // Per terminal, the span of compromised-terminal frauds; inside it, every
  // transaction at that terminal must be fraud (unless it is another scenario).
  std::map<int64_t, std::pair<int64_t, int64_t>> span;
  for (const Transaction& t : *rows_) {
    if (t.scenario != FraudScenario::kCompromisedTerminal) continue;
    auto [it, fresh] = span.try_emplace(t.terminal_id, t.ts, t.ts);
    it->second.first = std::min(it->second.first, t.ts);
    it->second.second = std::max(it->second.second, t.ts);
  }
  ASSERT_GT(span.size(), 3u);
  int64_t inside = 0;
  for (const Transaction& t : *rows_) {
    auto it = span.find(t.terminal_id);
    if (it == span.end() || t.ts < it->second.first || t.ts > it->second.second) continue;
    ++inside;
    EXPECT_TRUE(t.is_fraud) << t.transaction_id;
  }
  EXPECT_GT(inside, 20);
}

TEST_F(GeneratorModel, CustomersUseTerminalsNearThem) {
  const auto& customers = world_->customers();
  const auto& terminals = world_->terminals();
  int64_t card_present = 0;
  for (const Transaction& t : *rows_) {
    if (t.channel != "card_present") continue;
    ++card_present;
    const Customer& c = customers[static_cast<size_t>(t.customer_id - 1)];
    const Terminal& term = terminals[static_cast<size_t>(t.terminal_id - 1)];
    EXPECT_LE(std::hypot(c.x - term.x, c.y - term.y), world_->radius() + 1e-9);
  }
  EXPECT_GT(card_present, static_cast<int64_t>(rows_->size() / 2));
  EXPECT_DOUBLE_EQ(world_->radius(), 5.0);  // 4,000 terminals: sparser than the default, full radius
}

TEST(Generator, DenseMapsShrinkTheRadiusAndKeepNeighbourhoodsSmall) {
  GeneratorOptions o = Small();
  o.customers = 2000;
  o.terminals = 200000;
  World w = World::Build(o);
  EXPECT_NEAR(w.radius(), 5.0 * std::sqrt(8000.0 / 160000), 0.05);  // about 160,000 physical terminals
  double nearby = 0;
  for (const Customer& c : w.customers()) nearby += static_cast<double>(c.nearby.size());
  nearby /= static_cast<double>(w.customers().size());
  EXPECT_GT(nearby, 50);  // about 78 away from the map's edges
  EXPECT_LT(nearby, 90);
}

TEST_F(GeneratorModel, DailyAndWeeklySeasonality) {
  std::array<int64_t, 24> by_hour{};
  std::array<int64_t, 7> by_weekday{};  // 0 = Monday
  for (const Transaction& t : *rows_) {
    if (t.is_fraud) continue;
    by_hour[static_cast<size_t>(t.ts % kSecondsPerDay / 3600)]++;
    by_weekday[static_cast<size_t>(((t.ts - options_->start_ts) / kSecondsPerDay) % 7)]++;
  }
  EXPECT_GT(by_hour[13], 4 * by_hour[3]);
  EXPECT_GT(by_weekday[5], by_weekday[6] * 1.3);  // Saturday busier than Sunday
  EXPECT_GT(by_weekday[5], by_weekday[1] * 1.1);  // and than Tuesday
}

TEST(Generator, RejectsOutOfRangeOptions) {
  GeneratorOptions o = Small();
  o.days = 0;
  EXPECT_NE(ValidateGeneratorOptions(o).message().find("--days"), std::string::npos);
  o = Small();
  o.customers = 0;
  EXPECT_NE(ValidateGeneratorOptions(o).message().find("--customers"), std::string::npos);
  o = Small();
  o.terminals = 1;
  EXPECT_NE(ValidateGeneratorOptions(o).message().find("--terminals"), std::string::npos);
}

using GeneratorDb = test::EngineTest;

TEST_P(GeneratorDb, WritesTheSameRowsToEitherEngineAndReplacesAWindow) {
  GeneratorOptions o = Small();
  auto stats = Generate(db_.get(), o);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_GT(stats->rows, 1500);
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM transactions"), stats->rows);
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM transactions WHERE is_fraud = 1"), stats->frauds);
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM customers"), o.customers);
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM terminals"), o.terminals);
  // Per scenario, the stored counts are the generator's and only scenarios are labelled fraud.
  std::array<int64_t, kScenarioCount> stored{};
  ASSERT_TRUE(db_->Query("SELECT fraud_scenario, COUNT(*), SUM(is_fraud) FROM transactions GROUP BY fraud_scenario",
                         {}, [&](const storage::DbRow& r) {
                           auto s = ParseScenario(r.Text(0));
                           EXPECT_TRUE(s.has_value()) << r.Text(0);
                           if (s) stored[static_cast<size_t>(*s)] = r.Int(1);
                           EXPECT_EQ(r.Int(2), *s == FraudScenario::kNone ? 0 : r.Int(1));
                           return Status::OK();
                         }).ok());
  EXPECT_EQ(stored, stats->by_scenario);
  // The stored rows are exactly the in-memory ones.
  World w = World::Build(o);
  int64_t cents = 0, expected_cents = 0, ids = 0, expected_ids = 0;
  for (int d = 0; d < o.days; ++d) {
    for (const Transaction& t : w.GenerateDay(o.start_ts + d * kSecondsPerDay)) {
      expected_cents += static_cast<int64_t>(std::llround(t.amount * 100));
      expected_ids += t.transaction_id % 1000003;
    }
  }
  ASSERT_TRUE(db_->Query("SELECT amount, transaction_id FROM transactions", {}, [&](const storage::DbRow& r) {
    cents += static_cast<int64_t>(std::llround(r.Double(0) * 100));
    ids += r.Int(1) % 1000003;
    return Status::OK();
  }).ok());
  EXPECT_EQ(cents, expected_cents);
  EXPECT_EQ(ids, expected_ids);
  // Regenerating the window replaces it rather than failing or doubling.
  auto again = Generate(db_.get(), o);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM transactions"), stats->rows);
}

INSTANTIATE_TEST_SUITE_P(Engines, GeneratorDb, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace lathe::ml
