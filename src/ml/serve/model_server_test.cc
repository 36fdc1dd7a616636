#include "ml/serve/model_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <random>
#include <thread>

#include "common/file_util.h"
#include "ml/data/generator.h"
#include "ml/data/transaction.h"
#include "ml/serve/dir_model_source.h"
#include "ml/train/trainer.h"
#include "db_fixture.h"
#include "storage/db.h"
#include "test_util.h"

namespace lathe::ml {
namespace {

constexpr size_t kCols = 22;  // features/fraud.yaml

// Random rows with a label that depends on a few columns, so that models
// trained with different seeds and rounds score differently.
struct Toy {
  std::vector<float> x, y;
  size_t rows = 0, cols = 0;
  DenseView view() const { return {x.data(), rows, cols}; }
};
Toy MakeToy(size_t rows, size_t cols, uint32_t seed) {
  Toy t;
  t.rows = rows, t.cols = cols;
  std::mt19937 rng(seed);
  std::normal_distribution<float> n;
  for (size_t r = 0; r < rows; ++r) {
    float z = 0;
    for (size_t c = 0; c < cols; ++c) {
      float v = n(rng);
      if (c == 3 && r % 7 == 0) v = NAN;
      t.x.push_back(v);
      if (c < 3 && !std::isnan(v)) z += v * static_cast<float>(c + 1);
    }
    t.y.push_back(z + n(rng) > 2.0f ? 1.0f : 0.0f);
  }
  return t;
}

std::string TrainXgb(uint64_t seed, int rounds, size_t cols = kCols) {
  Toy train = MakeToy(800, cols, 11), valid = MakeToy(300, cols, 12);
  XgbParams p;
  p.seed = seed;
  p.n_estimators = rounds;
  p.early_stopping_rounds = rounds;
  auto m = XgbModel::Train(p, train.view(), train.y, {}, valid.view(), valid.y);
  EXPECT_TRUE(m.ok()) << m.status().message();
  auto bytes = m->Save();
  EXPECT_TRUE(bytes.ok());
  return *bytes;
}

std::string TrainLogistic(double l2) {
  Toy train = MakeToy(800, kCols, 13);
  LogisticParams p;
  p.l2 = l2;
  auto m = LogisticModel::Train(p, train.view(), train.y, {});
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m->Save();
}

class ModelServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto spec = ReadFile(std::string(LATHE_SOURCE_DIR) + "/features/fraud.yaml");
    ASSERT_TRUE(spec.ok());
    spec_yaml_ = new std::string(*spec);
    dir_ = new test::TempDir();
    GeneratorOptions o;
    o.days = 10;
    o.customers = 200;
    o.terminals = 400;
    o.seed = 3;
    o.start_ts = *ParseDay("2026-01-01");
    now_ = o.start_ts + o.days * kSecondsPerDay;
    auto db = storage::OpenDb("", dir_->path());
    ASSERT_TRUE(db.ok()) << db.status().message();
    auto stats = Generate(db->get(), o);
    ASSERT_TRUE(stats.ok()) << stats.status().message();
    models_ = new std::vector<std::string>{TrainXgb(1, 5), TrainXgb(2, 12), TrainXgb(3, 20), TrainLogistic(1.0)};
  }

  static ModelBundle Bundle(int64_t version) {
    ModelBundle b;
    b.name = "fraud";
    b.version = version;
    const size_t i = static_cast<size_t>(version) % models_->size();
    b.kind = i == 3 ? "logistic" : "xgboost";
    b.model_bytes = (*models_)[i];
    b.threshold = 0.5;
    b.feature_spec_yaml = *spec_yaml_;
    return b;
  }

  // A server whose loader hands out champion_ (nullopt when 0) or override_.
  std::unique_ptr<ModelServer> MakeServer(int64_t poll_seconds = 0) {
    ModelServerOptions o;
    o.poll_seconds = poll_seconds;
    o.now = [] { return now_; };
    auto loader = [this](const std::string&) -> Result<std::optional<ModelBundle>> {
      std::lock_guard<std::mutex> lock(mu_);
      if (override_) return std::optional<ModelBundle>(*override_);
      if (champion_ == 0) return std::optional<ModelBundle>();
      return std::optional<ModelBundle>(Bundle(champion_));
    };
    auto probe = [this](const std::string&) -> Result<std::optional<int64_t>> {
      std::lock_guard<std::mutex> lock(mu_);
      if (override_) return std::optional<int64_t>(override_->version);
      return champion_ == 0 ? std::optional<int64_t>() : std::optional<int64_t>(champion_);
    };
    std::string data_dir = dir_->path();
    return std::make_unique<ModelServer>(o, loader, probe, [data_dir] { return storage::OpenDb("", data_dir); });
  }
  void SetChampion(int64_t v) {
    std::lock_guard<std::mutex> lock(mu_);
    champion_ = v;
    override_.reset();
  }
  void SetOverride(ModelBundle b) {
    std::lock_guard<std::mutex> lock(mu_);
    override_ = std::move(b);
  }

  // A transaction after everything in the store, for a customer and terminal
  // the store does not know unless given.
  static OnlineTransaction Tx(int64_t id, int64_t ts, int64_t customer, int64_t terminal, double amount = 25) {
    OnlineTransaction t;
    t.transaction_id = id;
    t.ts = ts;
    t.customer_id = customer;
    t.terminal_id = terminal;
    t.amount = amount;
    return t;
  }

  std::mutex mu_;
  int64_t champion_ = 0;
  std::optional<ModelBundle> override_;

  static inline std::string* spec_yaml_ = nullptr;
  static inline test::TempDir* dir_ = nullptr;
  static inline int64_t now_ = 0;
  static inline std::vector<std::string>* models_ = nullptr;
};

TEST_F(ModelServerTest, AnswersUnavailableUntilAChampionExists) {
  auto server = MakeServer();
  server->Start();
  EXPECT_EQ(server->current(), nullptr);
  auto r = server->Predict({Tx(1'000'000'000'001, now_ + 10, 900001, 900001)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("no version loaded yet"), std::string::npos);
  SetChampion(1);
  auto v = server->Reload();
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, std::optional<int64_t>(1));
  EXPECT_TRUE(server->Predict({Tx(1'000'000'000'001, now_ + 10, 900001, 900001)}).ok());
}

TEST_F(ModelServerTest, RebuildsTheStateAndRefusesLateAndDuplicateTransactions) {
  SetChampion(1);
  auto server = MakeServer();
  server->Start();
  ModelServerStatus s = server->status();
  ASSERT_NE(s.current, nullptr);
  EXPECT_GT(s.customers, 150u);  // 200 customers, 10 days
  EXPECT_GT(s.terminals, 100u);
  // The store's last transaction of some customer.
  auto db = storage::OpenDb("", dir_->path());
  ASSERT_TRUE(db.ok());
  int64_t id = 0, ts = 0, customer = 0, terminal = 0;
  ASSERT_TRUE((*db)->Query("SELECT transaction_id, ts, customer_id, terminal_id FROM transactions ORDER BY ts DESC, "
                           "transaction_id DESC LIMIT 1",
                           {}, [&](const storage::DbRow& r) {
                             id = r.Int(0), ts = r.Int(1), customer = r.Int(2), terminal = r.Int(3);
                             return Status::OK();
                           })
                  .ok());
  auto r = server->Predict({
      Tx(id, ts, customer, terminal),                          // in the store already
      Tx(5'000'000'000'001, ts - 3600, customer, 900002),      // older than the customer's last one
      Tx(5'000'000'000'002, ts + 60, customer, 900003),        // a known customer, later: scored
      Tx(5'000'000'000'003, ts + 60, 900004, 900004, 12.5),    // an unknown customer: fresh state
      Tx(5'000'000'000'003, ts + 70, 900004, 900004, 12.5),    // the same id again
      Tx(5'000'000'000'005, ts - 1800, 900005, terminal),      // half an hour late at its terminal: scored
      Tx(5'000'000'000'006, ts - 7200, 900006, terminal),      // two hours late at its terminal
  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& p = r->predictions;
  ASSERT_EQ(p.size(), 7u);
  EXPECT_EQ(p[0].status.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(p[1].status.code(), StatusCode::kFailedPrecondition) << p[1].status.message();
  EXPECT_NE(p[1].status.message().find("not after customer"), std::string::npos);
  ASSERT_TRUE(p[2].status.ok()) << p[2].status.message();
  ASSERT_TRUE(p[3].status.ok()) << p[3].status.message();
  EXPECT_EQ(p[4].status.code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(p[5].status.ok()) << p[5].status.message();
  EXPECT_EQ(p[6].status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(p[6].status.message().find("more than 3600 s before terminal"), std::string::npos) << p[6].status.message();
  // Features (fraud.yaml order): amount, customer counts..., time_since_previous is column 6.
  const auto names = s.current->spec().Names();
  auto col = [&](const std::string& name) {
    return static_cast<size_t>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  ASSERT_LT(col("time_since_previous"), names.size());
  EXPECT_FLOAT_EQ(p[2].features[col("time_since_previous")], 60.0f);  // the store's last one, 60 s before
  EXPECT_TRUE(std::isnan(p[3].features[col("time_since_previous")]));  // no history
  EXPECT_FLOAT_EQ(p[3].features[col("amount")], 12.5f);
  EXPECT_FLOAT_EQ(p[3].features[col("first_terminal")], 1.0f);
  EXPECT_EQ(p[2].top.size(), 5u);
}

TEST_F(ModelServerTest, ACorruptNewModelLeavesTheOldOneServing) {
  SetChampion(1);
  auto server = MakeServer();
  server->Start();
  ASSERT_NE(server->current(), nullptr);
  ModelBundle bad = Bundle(2);
  bad.model_bytes = bad.model_bytes.substr(0, bad.model_bytes.size() / 2);
  SetOverride(bad);
  auto v = server->Reload();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kCorruption);
  EXPECT_NE(v.status().message().find("version 1 keeps serving"), std::string::npos) << v.status().message();
  ModelServerStatus s = server->status();
  EXPECT_EQ(s.current->version(), 1);
  ASSERT_TRUE(s.last_error.has_value());
  EXPECT_EQ(s.last_error->version, 2);
  EXPECT_NE(s.last_error->message.find("version 2"), std::string::npos);
  auto r = server->Predict({Tx(6'000'000'000'001, now_ + 100, 900010, 900010)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->model->version(), 1);
  // A good version 3 then swaps in and clears the error.
  SetChampion(3);
  v = server->Reload();
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(server->status().current->version(), 3);
  EXPECT_FALSE(server->status().last_error.has_value());
}

TEST_F(ModelServerTest, RefusesAModelWithTheWrongFeatureCountOrSpec) {
  SetChampion(1);
  auto server = MakeServer();
  server->Start();
  ModelBundle narrow = Bundle(2);
  narrow.model_bytes = TrainXgb(1, 3, kCols - 1);
  SetOverride(narrow);
  auto v = server->Reload();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find("takes 21 features but its feature spec 'fraud' has 22"), std::string::npos)
      << v.status().message();

  ModelBundle other_spec = Bundle(3);
  std::string yaml = *spec_yaml_;
  size_t at = yaml.find("window: 1d");
  ASSERT_NE(at, std::string::npos) << yaml;
  other_spec.feature_spec_yaml = yaml.replace(at, 10, "window: 2d");
  SetOverride(other_spec);
  v = server->Reload();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(v.status().message().find("differs from the one the online state was built for"), std::string::npos);

  for (auto [field, value] : {std::pair<std::string, std::string>{"kind", "forest"}, {"threshold", "1.5"}}) {
    ModelBundle b = Bundle(4);
    if (field == "kind") b.kind = value;
    if (field == "threshold") b.threshold = 1.5;
    SetOverride(b);
    v = server->Reload();
    ASSERT_FALSE(v.ok()) << field;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument) << field;
  }
  EXPECT_EQ(server->current()->version(), 1);
}

TEST_F(ModelServerTest, ContributionsSumToTheMargin) {
  Toy rows = MakeToy(50, kCols, 99);
  auto xgb = XgbModel::Load((*models_)[2]);
  ASSERT_TRUE(xgb.ok());
  auto margin = xgb->Margin(rows.view());
  auto contrib = xgb->Contributions(rows.view());
  auto prob = xgb->Predict(rows.view());
  ASSERT_TRUE(margin.ok() && contrib.ok() && prob.ok());
  ASSERT_EQ(contrib->size(), rows.rows * (kCols + 1));
  for (size_t r = 0; r < rows.rows; ++r) {
    double sum = 0;
    for (size_t c = 0; c <= kCols; ++c) sum += (*contrib)[r * (kCols + 1) + c];
    EXPECT_NEAR(sum, (*margin)[r], 1e-4) << "row " << r;
    EXPECT_NEAR(1.0 / (1.0 + std::exp(-sum)), (*prob)[r], 1e-5) << "row " << r;
  }
  auto logistic = LogisticModel::Load((*models_)[3]);
  ASSERT_TRUE(logistic.ok());
  auto lc = logistic->Contributions(rows.view());
  auto lp = logistic->Predict(rows.view());
  ASSERT_TRUE(lc.ok() && lp.ok());
  for (size_t r = 0; r < rows.rows; ++r) {
    double sum = 0;
    for (size_t c = 0; c <= kCols; ++c) sum += (*lc)[r * (kCols + 1) + c];
    EXPECT_NEAR(1.0 / (1.0 + std::exp(-sum)), (*lp)[r], 1e-5) << "row " << r;
  }
  // Through the server: margin = bias + contributions = logit(probability).
  SetChampion(2);
  auto server = MakeServer();
  server->Start();
  auto r = server->Predict({Tx(7'000'000'000'001, now_ + 100, 900020, 900020, 900)});
  ASSERT_TRUE(r.ok());
  const Prediction& p = r->predictions[0];
  EXPECT_NEAR(1.0 / (1.0 + std::exp(-p.margin)), p.probability, 1e-5);
}

// Scoring threads hammer Predict while the champion moves forward many
// times: every request is scored by exactly one version, each row's score is
// that version's own score of its features, versions never go back within a
// thread, and nothing fails.
TEST_F(ModelServerTest, HotSwapUnderConcurrentPredict) {
  SetChampion(1);
  auto server = MakeServer();
  server->Start();
  constexpr int kThreads = 4, kRequests = 250, kSwaps = 60;
  struct Scored {
    int64_t version;
    std::vector<float> features;
    float probability;
  };
  std::vector<std::vector<Scored>> scored(kThreads);
  std::atomic<int> errors{0}, mixed{0}, backwards{0}, swaps_done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      int64_t last_version = 0;
      for (int i = 0; i < kRequests; ++i) {
        // Spread the requests over the swaps (no timing: the scorers wait
        // for the swapper's progress, the swapper for nobody).
        while (swaps_done < i * kSwaps / kRequests) std::this_thread::yield();
        std::vector<OnlineTransaction> batch;
        for (int j = 0; j <= i % 3; ++j) {
          const int64_t n = i * 3 + j;
          // Each thread has its own customers and terminals: in order per thread.
          batch.push_back(Tx(8'000'000'000'000 + t * 1'000'000 + n, now_ + 10 * n, 910000 + t * 10 + n % 5,
                             920000 + t * 10 + n % 3, 5 + (n * 37) % 400));
        }
        auto r = server->Predict(batch);
        if (!r.ok()) {
          ++errors;
          continue;
        }
        for (const Prediction& p : r->predictions) {
          if (!p.status.ok()) ++errors;
          scored[t].push_back({r->model->version(), p.features, p.probability});
        }
        if (r->model->version() < last_version) ++backwards;
        last_version = r->model->version();
      }
    });
  }
  std::thread swapper([&] {
    for (int v = 2; v <= kSwaps + 1; ++v) {
      SetChampion(v);
      auto r = server->Reload();
      if (!r.ok()) ++errors;
      ++swaps_done;
    }
  });
  for (auto& th : threads) th.join();
  swapper.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(backwards.load(), 0);
  EXPECT_EQ(server->current()->version(), kSwaps + 1);
  // Each row again, by its version's own model (loaded separately).
  std::map<int64_t, int> versions_seen;
  std::map<int64_t, std::shared_ptr<const LoadedModel>> own_models;
  for (const auto& rows : scored) {
    for (const Scored& s : rows) {
      ++versions_seen[s.version];
      auto& own = own_models[s.version];
      if (!own) {
        auto loaded = LoadModel(Bundle(s.version), now_);
        ASSERT_TRUE(loaded.ok());
        own = *loaded;
      }
      auto score = own->Score(DenseView{s.features.data(), 1, s.features.size()}, false);
      ASSERT_TRUE(score.ok());
      if (score->probability[0] != s.probability) ++mixed;
    }
  }
  EXPECT_EQ(mixed.load(), 0);
  size_t expected = 0;
  for (int i = 0; i < kRequests; ++i) expected += kThreads * (i % 3 + 1);
  EXPECT_EQ(scored[0].size() + scored[1].size() + scored[2].size() + scored[3].size(), expected);
  EXPECT_GT(versions_seen.size(), static_cast<size_t>(kSwaps / 2));  // the swaps overlapped the stream
}

// A chargeback recorded in the store after the rebuild reaches the state at
// the next RefreshLabels (the poller's), and moves the terminal's risk.
TEST_F(ModelServerTest, NewFraudLabelsReachTheState) {
  test::TempDir dir;
  auto db = storage::OpenDb("", dir.path());
  ASSERT_TRUE(db.ok());
  // One terminal, three old transactions (more than the 7-day delay before
  // the probes), none fraud yet.
  const int64_t base = now_ - 10 * kSecondsPerDay;
  for (int64_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE((*db)->Execute("INSERT INTO transactions (transaction_id, ts, customer_id, terminal_id, amount, "
                               "currency, channel, merchant_category, country, is_fraud, fraud_scenario) VALUES ($1, "
                               "$2, $3, 77, 10, 'EUR', 'online', '5411', 'FR', 0, 'none')",
                               {i, base + i * 60, i})
                    .ok());
  }
  std::atomic<int64_t> clock{now_};
  ModelServerOptions o;
  o.poll_seconds = 0;
  o.now = [&clock] { return clock.load(); };
  ModelBundle b = Bundle(1);
  std::string data_dir = dir.path();
  ModelServer server(
      o, [b](const std::string&) { return Result<std::optional<ModelBundle>>(b); }, nullptr,
      [data_dir] { return storage::OpenDb("", data_dir); });
  server.Start();
  ASSERT_NE(server.current(), nullptr);
  const auto names = server.current()->spec().Names();
  const size_t risk = std::find(names.begin(), names.end(), "terminal_risk_7d_delay7d") - names.begin();
  ASSERT_LT(risk, names.size());
  auto before = server.Predict({Tx(100, now_ + 10, 500, 77)});
  ASSERT_TRUE(before.ok() && before->predictions[0].status.ok());
  EXPECT_FLOAT_EQ(before->predictions[0].features[risk], 0.0f);
  // Transaction 2 is charged back an hour after the rebuild.
  ASSERT_TRUE((*db)->Execute("UPDATE transactions SET is_fraud = 1, fraud_scenario = 'compromised_terminal', "
                             "label_ts = $1 WHERE transaction_id = 2",
                             {now_ + 3600})
                  .ok());
  auto none_yet = server.RefreshLabels();  // the clock has not reached the chargeback
  ASSERT_TRUE(none_yet.ok()) << none_yet.status().message();
  EXPECT_EQ(*none_yet, 0u);
  clock = now_ + 7200;
  auto delivered = server.RefreshLabels();
  ASSERT_TRUE(delivered.ok()) << delivered.status().message();
  EXPECT_EQ(*delivered, 1u);
  auto after = server.Predict({Tx(101, now_ + 7300, 501, 77)});
  ASSERT_TRUE(after.ok() && after->predictions[0].status.ok());
  EXPECT_FLOAT_EQ(after->predictions[0].features[risk], 1.0f / 3.0f);
  EXPECT_EQ(*server.RefreshLabels(), 0u);  // delivered once
}

TEST_F(ModelServerTest, PollingPicksUpANewChampion) {
  SetChampion(1);
  auto server = MakeServer(1);
  server->Start();
  ASSERT_EQ(server->current()->version(), 1);
  SetChampion(2);
  for (int i = 0; i < 100 && server->current()->version() != 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(server->current()->version(), 2);
  // A broken version is tried once by the poller, not on every poll.
  ModelBundle bad = Bundle(3);
  bad.model_bytes = "not a model";
  SetOverride(bad);
  for (int i = 0; i < 100 && !server->status().last_error; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(server->status().last_error.has_value());
  EXPECT_EQ(server->status().last_error->version, 3);
  EXPECT_EQ(server->current()->version(), 2);
  server->Stop();
}

TEST(DirModelSource, WritesReadsAndReportsBadFiles) {
  test::TempDir dir;
  auto loader = DirModelLoader(dir.path());
  auto probe = DirModelProbe(dir.path());
  auto none = loader("fraud");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ModelBundle b{"fraud", 7, "logistic", "{\"format\":\"lathe-logistic\"}", 0.25, "name: fraud\n"};
  ASSERT_TRUE(WriteModelFile(dir.path(), b).ok());
  auto got = loader("fraud");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().message();
  EXPECT_EQ((*got)->version, 7);
  EXPECT_EQ((*got)->kind, "logistic");
  EXPECT_EQ((*got)->model_bytes, b.model_bytes);
  EXPECT_DOUBLE_EQ((*got)->threshold, 0.25);
  EXPECT_EQ((*got)->feature_spec_yaml, b.feature_spec_yaml);
  auto v = probe("fraud");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, 7);
  for (const char* bad : {"not json", "{\"version\": 0}", "{\"version\": 2, \"kind\": 1}",
                          "{\"version\": 2, \"kind\": \"xgboost\", \"model\": \"m\", \"feature_spec\": \"s\"}"}) {
    test::WriteFile(dir / "fraud.json", bad);
    auto r = loader("fraud");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("fraud.json"), std::string::npos) << r.status().message();
  }
}

// The state rebuilt from the store (SQLite and PostgreSQL) gives every
// feature bit for bit what replaying the generated transactions through
// OnlineFeatures gives, labels known by now included.
class StateRebuildTest : public test::EngineTest {};

TEST_P(StateRebuildTest, MatchesAReplayOfTheGeneratedTransactions) {
  GeneratorOptions o;
  o.days = 6;
  o.customers = 150;
  o.terminals = 300;
  o.seed = 9;
  o.compromised_terminals_per_day = 0.01;  // frauds with labels, some known by now
  o.start_ts = *ParseDay("2026-02-02");
  const int64_t now = o.start_ts + o.days * kSecondsPerDay - 3600;  // the last hour is "future"
  ASSERT_TRUE(Generate(db_.get(), o).ok());
  auto spec_text = ReadFile(std::string(LATHE_SOURCE_DIR) + "/features/fraud.yaml");
  ASSERT_TRUE(spec_text.ok());
  auto spec = ParseFeatureSpec(*spec_text, "fraud.yaml");
  ASSERT_TRUE(spec.ok());

  OnlineFeatures reference(*spec);
  const World world = World::Build(o);
  size_t known = 0;
  std::vector<Transaction> all;
  for (int64_t d = 0; d < o.days; ++d) {
    auto day = world.GenerateDay(o.start_ts + d * kSecondsPerDay);
    all.insert(all.end(), day.begin(), day.end());
  }
  std::sort(all.begin(), all.end(), [](const Transaction& a, const Transaction& b) {
    return a.ts != b.ts ? a.ts < b.ts : a.transaction_id < b.transaction_id;
  });
  for (const Transaction& t : all) {
    ASSERT_TRUE(reference.Add({t.transaction_id, t.ts, t.customer_id, t.terminal_id, t.amount, t.device_id}).ok());
  }
  for (const Transaction& t : all) {
    if (t.is_fraud && t.label_ts != 0 && t.label_ts <= now) known += reference.AddFraudLabel(t.terminal_id, t.transaction_id, t.label_ts);
  }
  ASSERT_GT(known, 0u);

  ModelBundle b{"fraud", 1, "xgboost", TrainXgb(1, 3), 0.5, *spec_text};
  ModelServerOptions options;
  options.poll_seconds = 0;
  options.now = [now] { return now; };
  const std::string url = url_, data_dir = dir_.path();
  ModelServer server(
      options, [b](const std::string&) { return Result<std::optional<ModelBundle>>(b); }, nullptr,
      [url, data_dir] { return storage::OpenDb(url, data_dir); });
  server.Start();
  ASSERT_NE(server.current(), nullptr) << (server.status().last_error ? server.status().last_error->message : "");
  // Probes after the store's last transaction, for known customers at their own and other terminals.
  int64_t ts = o.start_ts + o.days * kSecondsPerDay + 60;
  for (int64_t c = 1; c <= 40; ++c) {
    OnlineTransaction tx{9'900'000'000'000 + c, ts + c * 13, c, 1 + (c * 7) % 300, 10.0 + c, c % 2 ? "d" + std::to_string(c) : ""};
    auto want = reference.Add(tx);
    auto got = server.Predict({tx});
    ASSERT_TRUE(want.ok() && got.ok());
    ASSERT_TRUE(got->predictions[0].status.ok()) << got->predictions[0].status.message();
    const auto& f = got->predictions[0].features;
    ASSERT_EQ(f.size(), want->size());
    for (size_t i = 0; i < f.size(); ++i) {
      const bool same = (std::isnan(f[i]) && std::isnan((*want)[i])) || f[i] == (*want)[i];
      EXPECT_TRUE(same) << "customer " << c << " feature " << spec->features[i].name << ": " << f[i] << " vs " << (*want)[i];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, StateRebuildTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace lathe::ml
