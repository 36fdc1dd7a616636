// Batch and online feature computation: hand-computed values on a tiny
// fixture, batch == online on every row of a generated month, parallel ==
// one thread, no feature reads the future, and loading from both engines.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "db_fixture.h"
#include "ml/data/generator.h"
#include "ml/features/batch.h"
#include "ml/features/feature_input.h"
#include "ml/features/online.h"

namespace lathe::ml {
namespace {

bool SameFloat(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b)); }

FeatureSpec MustParse(const std::string& yaml) {
  auto spec = ParseFeatureSpec(yaml, "test.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return spec.ok() ? *spec : FeatureSpec{};
}

FeatureSpec Shipped() {
  auto spec = LoadFeatureSpec(std::string(LATHE_SOURCE_DIR) + "/features/fraud.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return spec.ok() ? *spec : FeatureSpec{};
}

OnlineTransaction Online(const Transaction& t) {
  return {t.transaction_id, t.ts, t.customer_id, t.terminal_id, t.amount, t.device_id};
}

// Replays txs through OnlineFeatures in (ts, id) order, delivering each fraud
// label at its label_ts (before transactions at that same second); returns
// the feature rows in that order.
std::vector<std::vector<float>> ReplayOnline(const FeatureSpec& spec, std::vector<Transaction> txs) {
  std::sort(txs.begin(), txs.end(), [](const Transaction& a, const Transaction& b) {
    return a.ts != b.ts ? a.ts < b.ts : a.transaction_id < b.transaction_id;
  });
  std::vector<const Transaction*> labels;
  for (const Transaction& t : txs)
    if (t.is_fraud && t.label_ts != 0) labels.push_back(&t);
  std::sort(labels.begin(), labels.end(),
            [](const Transaction* a, const Transaction* b) { return a->label_ts < b->label_ts; });
  OnlineFeatures online(spec);
  std::vector<std::vector<float>> rows;
  size_t next_label = 0;
  for (const Transaction& t : txs) {
    for (; next_label < labels.size() && labels[next_label]->label_ts <= t.ts; ++next_label)
      online.AddFraudLabel(labels[next_label]->terminal_id, labels[next_label]->transaction_id,
                           labels[next_label]->label_ts);
    auto row = online.Add(Online(t));
    EXPECT_TRUE(row.ok()) << row.status().ToString();
    rows.push_back(row.ok() ? *row : std::vector<float>(spec.features.size()));
  }
  return rows;
}

Transaction Tx(int64_t id, int64_t ts, int64_t customer, int64_t terminal, double amount, std::string device = "",
               bool fraud = false, int64_t label_ts = 0) {
  Transaction t;
  t.transaction_id = id, t.ts = ts, t.customer_id = customer, t.terminal_id = terminal, t.amount = amount;
  t.device_id = std::move(device), t.is_fraud = fraud, t.label_ts = label_ts;
  return t;
}

// 2026-01-05 is a Monday. Terminal 7 sees customer 1's fraud at 01:00, whose
// chargeback arrives Tuesday 04:00.
class TinyFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const int64_t t0 = *ParseDay("2026-01-05"), h = 3600;
    txs_ = {Tx(1, t0 + 1 * h, 1, 7, 10, "", true, t0 + 28 * h),
            Tx(2, t0 + 10 * h, 1, 7, 20, "d1"),
            Tx(3, t0 + 10 * h, 1, 8, 30, "d1"),  // same second as 2, later id
            Tx(6, t0 + 132 * h, 1, 7, 50),       // Saturday 12:00
            Tx(4, t0 + 29 * h, 1, 7, 40, "d2"),  // Tuesday 05:00
            Tx(5, t0 + 27 * h, 2, 7, 100)};      // Tuesday 03:00
    spec_ = MustParse(R"(
name: tiny
features:
  - {kind: amount}
  - {kind: customer_count, window: 1d}
  - {kind: customer_sum, window: 1d}
  - {kind: customer_mean, window: 1d}
  - {kind: amount_zscore, window: 30d}
  - {kind: time_since_previous}
  - {kind: tx_per_hour, window: 1h}
  - {kind: first_terminal}
  - {kind: first_device}
  - {kind: terminal_risk, window: 1d, delay: 1d}
  - {kind: terminal_count, window: 1d, delay: 1d}
  - {kind: terminal_risk, window: 7d, delay: 0}
  - {kind: terminal_count, window: 7d, delay: 0}
  - {kind: night}
  - {kind: weekend}
)");
  }
  std::vector<Transaction> txs_;
  FeatureSpec spec_;
};

const float N = NAN;
// Rows in (ts, id) order: ids 1, 2, 3, 5, 4, 6. Worked out by hand in
// docs/features.md#a-worked-example.
const std::vector<int64_t> kIds = {1, 2, 3, 5, 4, 6};
const std::vector<std::vector<float>> kExpected = {
    // amt cnt sum  mean  z        tsp     tph fT fD risk1 n1 risk7 n7 night wkend
    {10, 1, 10, 10, N, N, 1, 1, 0, N, 0, N, 0, 1, 0},
    {20, 2, 30, 15, N, 32400, 1, 0, 1, N, 0, 0, 1, 0, 0},
    {30, 3, 60, 20, 2.1213203f, 0, 2, 1, 0, N, 0, N, 0, 0, 0},
    {100, 1, 100, 100, N, N, 1, 1, 0, 0, 1, 0, 2, 1, 0},          // tx 1's label is not known yet at 03:00
    {40, 3, 90, 30, 2, 68400, 1, 0, 1, 1, 1, 1.0f / 3, 3, 1, 0},  // ... and is at 05:00
    {50, 1, 50, 50, 1.9364917f, 370800, 1, 0, 0, N, 0, 0.25f, 4, 0, 1},
};

void ExpectRows(const std::vector<std::vector<float>>& got, const std::vector<std::string>& names) {
  ASSERT_EQ(got.size(), kExpected.size());
  for (size_t r = 0; r < got.size(); ++r) {
    ASSERT_EQ(got[r].size(), kExpected[r].size());
    for (size_t c = 0; c < got[r].size(); ++c) {
      if (std::isnan(kExpected[r][c])) {
        EXPECT_TRUE(std::isnan(got[r][c])) << "tx " << kIds[r] << " " << names[c] << " = " << got[r][c];
      } else {
        EXPECT_NEAR(got[r][c], kExpected[r][c], 1e-5) << "tx " << kIds[r] << " " << names[c];
      }
    }
  }
}

TEST_F(TinyFixture, BatchMatchesHandComputedValues) {
  auto m = ComputeBatch(spec_, FromTransactions(txs_), nullptr);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->transaction_id, kIds);
  EXPECT_EQ(m->labels, (std::vector<float>{1, 0, 0, 0, 0, 0}));
  std::vector<std::vector<float>> rows;
  for (size_t r = 0; r < m->rows; ++r) rows.emplace_back(m->row(r), m->row(r) + m->cols);
  ExpectRows(rows, m->names);
}

TEST_F(TinyFixture, OnlineMatchesHandComputedValues) { ExpectRows(ReplayOnline(spec_, txs_), spec_.Names()); }

TEST_F(TinyFixture, MissingValuesFollowTheSpec) {
  FeatureSpec spec = MustParse(R"(
name: m
features:
  - {kind: amount_zscore, window: 30d, missing: 0}
  - {kind: time_since_previous, missing: -1}
  - {kind: terminal_risk, window: 1d, delay: 1d, missing: -2}
)");
  auto m = ComputeBatch(spec, FromTransactions(txs_), nullptr);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->at(0, 0), 0.0f);
  EXPECT_EQ(m->at(0, 1), -1.0f);
  EXPECT_EQ(m->at(0, 2), -2.0f);
}

TEST_F(TinyFixture, DuplicateTransactionIsAnError) {
  txs_.push_back(txs_[0]);
  auto m = ComputeBatch(spec_, FromTransactions(txs_), nullptr);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("transaction 1 appears twice"), std::string::npos) << m.status().message();
}

TEST_F(TinyFixture, OnlineRejectsOutOfOrderTransactionsAndLeavesStateAlone) {
  OnlineFeatures online(spec_);
  ASSERT_TRUE(online.Add(Online(txs_[1])).ok());  // id 2 at 10:00
  auto late = online.Add(Online(txs_[0]));        // id 1 at 01:00, same customer
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(late.status().message().find("customer 1"), std::string::npos) << late.status().message();
  auto other = Online(txs_[0]);
  other.customer_id = 99;  // a new customer, but terminal 7 has seen 10:00 already (9 h later)
  auto late_terminal = online.Add(other);
  ASSERT_FALSE(late_terminal.ok());
  EXPECT_NE(late_terminal.status().message().find("more than 3600 s before terminal 7"), std::string::npos)
      << late_terminal.status().message();
  EXPECT_EQ(online.customers(), 1u);  // the refused transactions left nothing behind
  EXPECT_FALSE(online.AddFraudLabel(7, 12345, 0));
  EXPECT_FALSE(online.AddFraudLabel(8, 2, 0));
  EXPECT_TRUE(online.AddFraudLabel(7, 2, 0));
}

// A transaction up to an hour late at its terminal (another customer's
// transaction there came first) is placed in order: its features, and those
// of every transaction after it, equal the batch result over all of them.
TEST_F(TinyFixture, OnlineTakesATransactionLateAtItsTerminalWithinAnHour) {
  Transaction late = txs_[1];  // terminal 7, Mon 10:00
  late.transaction_id = 50;
  late.customer_id = 99;
  late.ts -= 1800;  // Mon 09:30
  late.device_id.clear();
  std::vector<Transaction> all = txs_;
  all.push_back(late);
  auto m = ComputeBatch(spec_, FromTransactions(all), nullptr);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto batch_row = [&](int64_t id) {
    for (size_t r = 0; r < m->rows; ++r)
      if (m->transaction_id[r] == id) return std::vector<float>(m->row(r), m->row(r) + m->cols);
    return std::vector<float>();
  };
  OnlineFeatures online(spec_);
  // Arrival order: (ts, id) order, except that the late one comes right after tx 3.
  std::vector<Transaction> arrival = txs_;
  std::sort(arrival.begin(), arrival.end(), [](const Transaction& a, const Transaction& b) {
    return a.ts != b.ts ? a.ts < b.ts : a.transaction_id < b.transaction_id;
  });
  auto after3 = std::find_if(arrival.begin(), arrival.end(), [](const Transaction& t) { return t.transaction_id == 3; });
  ASSERT_NE(after3, arrival.end());
  arrival.insert(after3 + 1, late);
  bool labelled = false;
  for (const Transaction& t : arrival) {
    if (!labelled && t.ts >= txs_[0].label_ts) labelled = online.AddFraudLabel(7, 1, txs_[0].label_ts);
    auto row = online.Add(Online(t));
    ASSERT_TRUE(row.ok()) << t.transaction_id << ": " << row.status().ToString();
    // tx 2 (10:00, terminal 7) was computed before the late 09:30 one arrived:
    // its delay-0 terminal features could not see it. Every other row agrees.
    if (t.transaction_id == 2) continue;
    std::vector<float> want = batch_row(t.transaction_id);
    ASSERT_EQ(row->size(), want.size());
    for (size_t c = 0; c < want.size(); ++c)
      EXPECT_TRUE(SameFloat((*row)[c], want[c])) << "tx " << t.transaction_id << " " << m->names[c] << ": "
                                                 << (*row)[c] << " vs " << want[c];
  }
}

// The world's transactions of `days` days from o.start_ts, without a store.
std::vector<Transaction> GenerateDays(const GeneratorOptions& o, int64_t days) {
  World world = World::Build(o);
  std::vector<Transaction> txs;
  for (int64_t d = 0; d < days; ++d) {
    auto day = world.GenerateDay(o.start_ts + d * kSecondsPerDay);
    txs.insert(txs.end(), day.begin(), day.end());
  }
  return txs;
}

// A small world with more compromised terminals than the defaults, so that
// terminal risk has labels to find.
std::vector<Transaction> GeneratedMonth(int64_t days = 30) {
  GeneratorOptions o;
  o.customers = 300;
  o.terminals = 600;
  o.seed = 11;
  o.start_ts = *ParseDay("2026-03-01");
  o.compromised_terminals_per_day = 3e-3;
  o.compromised_customers_per_day = 2e-3;
  return GenerateDays(o, days);
}

size_t Column(const FeatureMatrix& m, const std::string& name) {
  return std::find(m.names.begin(), m.names.end(), name) - m.names.begin();
}

TEST(Features, BatchEqualsOnlineOnEveryRowOfAGeneratedMonth) {
  const FeatureSpec spec = Shipped();
  const std::vector<Transaction> txs = GeneratedMonth();
  CpuPool pool(0);
  auto m = ComputeBatch(spec, FromTransactions(txs), &pool);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->rows, txs.size());
  ASSERT_GT(m->rows, 10000u);
  const auto online = ReplayOnline(spec, txs);
  size_t mismatches = 0;
  for (size_t r = 0; r < m->rows; ++r)
    for (size_t c = 0; c < m->cols; ++c)
      if (!SameFloat(m->at(r, c), online[r][c]) && mismatches++ < 10)
        ADD_FAILURE() << "tx " << m->transaction_id[r] << " " << m->names[c] << ": batch " << m->at(r, c) << " online "
                      << online[r][c];
  EXPECT_EQ(mismatches, 0u);
  // The month exercises what it claims to: known frauds at terminals, new
  // devices and terminals, undefined z-scores, several windows.
  size_t risky = 0, new_devices = 0, new_terminals = 0, undefined_z = 0;
  for (size_t r = 0; r < m->rows; ++r) {
    risky += m->at(r, Column(*m, "terminal_risk_7d_delay7d")) > 0;
    new_devices += m->at(r, Column(*m, "first_device")) == 1;
    new_terminals += m->at(r, Column(*m, "first_terminal")) == 1;
    undefined_z += std::isnan(m->at(r, Column(*m, "amount_zscore_30d")));
  }
  EXPECT_GT(risky, 20u);
  EXPECT_GT(new_devices, 50u);
  EXPECT_GT(new_terminals, 1000u);
  EXPECT_GT(undefined_z, 300u);
  EXPECT_LT(undefined_z, m->rows / 4);
}

TEST(Features, ParallelResultIsIdenticalToOneThread) {
  const FeatureSpec spec = Shipped();
  const FeatureInput input = FromTransactions(GeneratedMonth());
  auto one = ComputeBatch(spec, input, nullptr);
  CpuPool pool(4);
  auto many = ComputeBatch(spec, input, &pool);
  ASSERT_TRUE(one.ok() && many.ok());
  ASSERT_EQ(one->values.size(), many->values.size());
  EXPECT_EQ(std::memcmp(one->values.data(), many->values.data(), one->values.size() * sizeof(float)), 0);
  EXPECT_EQ(one->transaction_id, many->transaction_id);
  EXPECT_EQ(one->labels, many->labels);
}

// For many t: features at t are unchanged when everything after t is deleted
// (and labels not known at t are erased), and when it is all rewritten.
TEST(Features, NoFeatureReadsTheFutureOrAnUnknownLabel) {
  const FeatureSpec spec = Shipped();
  const std::vector<Transaction> txs = GeneratedMonth(45);
  CpuPool pool(0);
  auto full = ComputeBatch(spec, FromTransactions(txs), &pool);
  ASSERT_TRUE(full.ok());
  // Sample rows, and every fraud row in the last 20 days (their terminals'
  // and customers' labels matter most).
  std::vector<size_t> probes;
  for (size_t r = full->rows / 3; r < full->rows; r += full->rows / 20) probes.push_back(r);
  size_t frauds = 0;
  for (size_t r = full->rows * 2 / 3; r < full->rows && frauds < 20; ++r)
    if (full->labels[r] == 1) probes.push_back(r), ++frauds;
  ASSERT_GT(frauds, 5u);
  size_t labels_hidden = 0, later_rows_changed = 0;
  for (size_t r : probes) {
    const int64_t t = full->ts[r], id = full->transaction_id[r];
    auto after = [&](const Transaction& x) { return x.ts > t || (x.ts == t && x.transaction_id > id); };
    std::vector<Transaction> cut, rewritten = txs;
    for (const Transaction& x : txs) {
      if (after(x)) continue;
      Transaction y = x;
      if (y.label_ts > t) y.is_fraud = false, y.label_ts = 0, ++labels_hidden;
      cut.push_back(y);
    }
    for (Transaction& x : rewritten) {
      if (x.label_ts > t) x.is_fraud = !x.is_fraud, x.label_ts = t + 1;  // an unknown label, flipped
      if (!after(x)) continue;
      x.amount = x.amount * 7 + 3, x.device_id = "other", x.terminal_id = txs[r].terminal_id;
      x.is_fraud = true, x.label_ts = t + 1;
    }
    for (const auto* variant : {&cut, &rewritten}) {
      auto m = ComputeBatch(spec, FromTransactions(*variant), &pool);
      ASSERT_TRUE(m.ok());
      size_t row = std::find(m->transaction_id.begin(), m->transaction_id.end(), id) - m->transaction_id.begin();
      ASSERT_LT(row, m->rows);
      for (size_t c = 0; c < m->cols; ++c)
        EXPECT_TRUE(SameFloat(m->at(row, c), full->at(r, c)))
            << m->names[c] << " at tx " << id << ": " << m->at(row, c) << " vs " << full->at(r, c);
      if (variant == &rewritten && row + 1 < m->rows)
        later_rows_changed += std::memcmp(m->row(row + 1), full->row(row + 1), m->cols * sizeof(float)) != 0;
    }
  }
  // The test has teeth: labels were hidden and the rewrite changed later rows.
  EXPECT_GT(labels_hidden, 100u);
  EXPECT_GT(later_rows_changed, probes.size() / 2);
}

class FeatureInputTest : public test::EngineTest {};

TEST_P(FeatureInputTest, LoadedFromTheStoreEqualsGenerated) {
  GeneratorOptions o;
  o.customers = 200;
  o.terminals = 400;
  o.days = 3;
  o.seed = 4;
  o.start_ts = *ParseDay("2026-02-01");
  ASSERT_TRUE(Generate(db_.get(), o).ok());
  auto loaded = LoadFeatureInput(db_.get(), o.start_ts, o.start_ts + 3 * kSecondsPerDay);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const std::vector<Transaction> txs = GenerateDays(o, 3);
  ASSERT_EQ(loaded->size(), txs.size());
  const FeatureSpec spec = Shipped();
  auto a = ComputeBatch(spec, *loaded, nullptr);
  auto b = ComputeBatch(spec, FromTransactions(txs), nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->transaction_id, b->transaction_id);
  EXPECT_EQ(a->labels, b->labels);
  EXPECT_EQ(a->label_ts, b->label_ts);
  EXPECT_EQ(std::memcmp(a->values.data(), b->values.data(), a->values.size() * sizeof(float)), 0);
}

TEST_P(FeatureInputTest, MissingTableIsAnError) {
  ASSERT_TRUE(db_->Exec("DROP TABLE transactions").ok());
  auto loaded = LoadFeatureInput(db_.get(), 0, 1);
  ASSERT_FALSE(loaded.ok());
}

INSTANTIATE_TEST_SUITE_P(Engines, FeatureInputTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace lathe::ml
