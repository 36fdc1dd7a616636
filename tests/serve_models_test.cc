// The fraud model in `lathe serve` as a real process over loopback: a store
// seeded by `lathe data generate`, champions written where the interim
// directory source reads them (DATA/champions/fraud.json), hot swaps through
// POST /v1/models/fraud/reload under a steady stream of predict requests,
// a corrupt champion, and the table of bad requests.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <ctime>
#include <random>
#include <set>
#include <thread>

#include "common/file_util.h"
#include "ml/data/transaction.h"
#include "ml/serve/dir_model_source.h"
#include "ml/train/xgb_model.h"
#include "serve_util.h"

namespace lathe::test {
namespace {

using json = nlohmann::json;
constexpr size_t kCols = 22;  // features/fraud.yaml

// Small XGBoost models on random rows: distinct for each seed.
std::string TrainModel(uint64_t seed, int rounds) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<float> n;
  auto rows = [&](size_t count, std::vector<float>* x, std::vector<float>* y) {
    for (size_t r = 0; r < count; ++r) {
      float z = 0;
      for (size_t c = 0; c < kCols; ++c) {
        float v = n(rng);
        x->push_back(v);
        if (c < 4) z += v;
      }
      y->push_back(z + n(rng) > 2 ? 1.0f : 0.0f);
    }
  };
  std::vector<float> x, y, vx, vy;
  rows(600, &x, &y);
  rows(200, &vx, &vy);
  ml::XgbParams p;
  p.seed = seed;
  p.n_estimators = rounds;
  p.early_stopping_rounds = rounds;
  auto m = ml::XgbModel::Train(p, {x.data(), 600, kCols}, y, {}, {vx.data(), 200, kCols}, vy);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return *m->Save();
}

class ServeModelsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    RunResult gen = RunLathe(dir_->path(), {"data", "generate", "--days", "10", "--customers", "200", "--terminals",
                                            "400", "--seed", "3"});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    query_key_ = new std::string(CreateKey(dir_->path(), "default", "query"));
    admin_key_ = new std::string(CreateKey(dir_->path(), "default", "admin"));
    ASSERT_FALSE(query_key_->empty());
    auto spec = ReadFile(std::string(LATHE_SOURCE_DIR) + "/features/fraud.yaml");
    ASSERT_TRUE(spec.ok());
    spec_ = new std::string(*spec);
    models_ = new std::vector<std::string>{TrainModel(1, 4), TrainModel(2, 9), TrainModel(3, 15)};
    // models.dir named explicitly: the test keeps the directory source when
    // the default source becomes the registry.
    server_ = new Server(dir_->path(),
                         "models:\n  poll_seconds: 0\n  max_batch: 50\n  dir: \"" + dir_->path() + "/champions\"\n");
    ASSERT_NE(server_->port(), 0);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  static void Promote(int64_t version, std::string bytes = "") {
    ml::ModelBundle b{"fraud", version, "xgboost", bytes.empty() ? (*models_)[version % 3] : bytes, 0.5, *spec_};
    ASSERT_TRUE(ml::WriteModelFile(dir_->path() + "/champions", b).ok());
  }
  static HttpResult Predict(const json& body, const std::string& model = "fraud") {
    return server_->Post("/v1/models/" + model + "/predict", body, *query_key_);
  }
  static json Tx(int64_t id, int64_t ts, int64_t customer, int64_t terminal, double amount = 30) {
    return {{"transaction_id", id}, {"ts", ts}, {"customer_id", customer}, {"terminal_id", terminal},
            {"amount", amount}};
  }

  static inline TempDir* dir_ = nullptr;
  static inline Server* server_ = nullptr;
  static inline std::string *query_key_ = nullptr, *admin_key_ = nullptr, *spec_ = nullptr;
  static inline std::vector<std::string>* models_ = nullptr;
};

// In order: the tests share one server whose champion only moves forward.
TEST_F(ServeModelsTest, A_NoChampionYetMeans503ThenReloadLoadsIt) {
  HttpResult get = server_->Get("/v1/models/fraud", *query_key_);
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_TRUE(get.Json()["version"].is_null());
  HttpResult r = Predict(Tx(1, std::time(nullptr), 1, 1));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "model_not_loaded");
  EXPECT_NE(r.Json()["error"]["message"].get<std::string>().find("no version loaded yet"), std::string::npos);

  Promote(1);
  HttpResult forbidden = server_->Post("/v1/models/fraud/reload", json::object(), *query_key_);
  EXPECT_EQ(forbidden.status, 403) << forbidden.body;
  HttpResult reload = server_->Post("/v1/models/fraud/reload", json::object(), *admin_key_);
  ASSERT_EQ(reload.status, 200) << reload.body;
  json m = reload.Json();
  EXPECT_EQ(m["version"], 1);
  EXPECT_EQ(m["kind"], "xgboost");
  EXPECT_EQ(m["threshold"], 0.5);
  EXPECT_EQ(m["features"].size(), kCols);
  EXPECT_GT(m["state"]["customers"].get<int>(), 100);  // rebuilt from the generated store
  EXPECT_TRUE(m["last_error"].is_null());
}

TEST_F(ServeModelsTest, B_PredictsOneAndABatchWithContributions) {
  const int64_t now = std::time(nullptr);
  HttpResult one = Predict(Tx(9'000'000'000'001, now, 1, 1, 45.5));
  ASSERT_EQ(one.status, 200) << one.body;
  json p = one.Json();
  EXPECT_EQ(p["model"], "fraud");
  EXPECT_EQ(p["version"], 1);
  const double prob = p["probability"].get<double>();
  EXPECT_GE(prob, 0.0);
  EXPECT_LE(prob, 1.0);
  EXPECT_EQ(p["fraud"].get<bool>(), prob >= 0.5);
  ASSERT_EQ(p["top_features"].size(), 5u);
  EXPECT_NEAR(1 / (1 + std::exp(-p["margin"].get<double>())), prob, 1e-5);
  json batch = {{"transactions",
                 {Tx(9'000'000'000'002, now + 5, 1, 2), Tx(9'000'000'000'003, 0, 900001, 900001)}}};
  batch["transactions"][1]["ts"] = ml::FormatTimestamp(now + 60);
  batch["transactions"][1]["device_id"] = "phone-1";
  HttpResult b = Predict(batch);
  ASSERT_EQ(b.status, 200) << b.body;
  ASSERT_EQ(b.Json()["predictions"].size(), 2u);
  EXPECT_EQ(b.Json()["refused"], 0);
  const json scored = b.Json();  // the range below must not refer into a temporary
  for (const auto& item : scored["predictions"]) EXPECT_EQ(item["version"], 1);

  HttpResult quick = Predict({{"transactions", {Tx(9'000'000'000'007, now + 61, 3, 4)}}, {"explain", false}});
  ASSERT_EQ(quick.status, 200) << quick.body;
  EXPECT_TRUE(quick.Json()["predictions"][0].contains("probability"));
  EXPECT_FALSE(quick.Json()["predictions"][0].contains("top_features"));
  // The same transaction again, and one older than its customer's last one.
  HttpResult dup = Predict(Tx(9'000'000'000'001, now, 1, 1, 45.5));
  EXPECT_EQ(dup.status, 409) << dup.body;
  EXPECT_EQ(dup.Json()["error"]["code"], "duplicate_transaction");
  HttpResult late = Predict(Tx(9'000'000'000'004, now - 3600, 1, 3));
  EXPECT_EQ(late.status, 409) << late.body;
  EXPECT_EQ(late.Json()["error"]["code"], "out_of_order");
  HttpResult future = Predict(Tx(9'000'000'000'006, now + 3 * 86400, 2, 2));
  EXPECT_EQ(future.status, 400) << future.body;
  EXPECT_EQ(future.Json()["error"]["code"], "future_transaction");
  // In a batch, a refusal is per transaction.
  HttpResult mixed = Predict({{"transactions", {Tx(9'000'000'000'001, now, 1, 1), Tx(9'000'000'000'005, now + 9, 1, 3)}}});
  ASSERT_EQ(mixed.status, 200) << mixed.body;
  EXPECT_EQ(mixed.Json()["refused"], 1);
  EXPECT_EQ(mixed.Json()["predictions"][0]["error"]["code"], "duplicate_transaction");
  EXPECT_TRUE(mixed.Json()["predictions"][1].contains("probability"));
}

TEST_F(ServeModelsTest, C_BadRequestsGetClearErrors) {
  const int64_t now = std::time(nullptr);
  json no_amount = Tx(9'100'000'000'001, now, 5, 5);
  no_amount.erase("amount");
  std::vector<json> fifty_one(51, Tx(9'100'000'000'002, now, 5, 5));
  struct Case {
    std::string model;
    std::string body;
    std::string key;
    int status;
    std::string code, message;
  };
  const std::string q = *query_key_;
  std::vector<Case> cases = {
      {"fraud", no_amount.dump(), q, 400, "invalid_transaction", "field 'amount' is required"},
      {"fraud", Tx(1, now, 5, 5, -3).dump(), q, 400, "invalid_transaction", "field 'amount' must be a finite number >= 0"},
      {"fraud", R"({"transaction_id": 1, "ts": "noon", "customer_id": 1, "terminal_id": 1, "amount": 1})", q, 400,
       "invalid_transaction", "field 'ts' must be unix seconds or ISO-8601"},
      {"fraud", R"({"transaction_id": "1", "ts": 1, "customer_id": 1, "terminal_id": 1, "amount": 1})", q, 400,
       "invalid_transaction", "field 'transaction_id' must be an integer"},
      {"fraud", R"({"transactions": []})", q, 400, "empty_batch", "field 'transactions' is empty"},
      {"fraud", json{{"transactions", fifty_one}}.dump(), q, 413, "batch_too_large", "a batch holds at most 50"},
      {"fraud", "{not json", q, 400, "invalid_json", "request body is not valid JSON"},
      {"fraud", "", q, 400, "invalid_json", "request body is empty"},
      {"churn", Tx(1, now, 5, 5).dump(), q, 404, "model_not_found", "model 'churn' is not served here"},
      {"fraud", Tx(1, now, 5, 5).dump(), "", 401, "", ""},
  };
  for (const Case& c : cases) {
    HttpResult r = Http(server_->port(), "POST", "/v1/models/" + c.model + "/predict", c.body, Server::Auth(c.key));
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    json err = r.Json();
    ASSERT_TRUE(err.contains("error")) << r.body;
    if (!c.code.empty()) {
      EXPECT_EQ(err["error"]["code"], c.code) << r.body;
    }
    if (!c.message.empty()) {
      EXPECT_NE(err["error"]["message"].get<std::string>().find(c.message), std::string::npos) << r.body;
    }
  }
  HttpResult unknown = server_->Get("/v1/models/churn", *query_key_);
  EXPECT_EQ(unknown.status, 404);
}

// Several clients stream predict requests while the champion moves forward
// five times through /reload: no request fails, every batch is scored by one
// version, and each client sees the version only move forward.
TEST_F(ServeModelsTest, D_HotSwapUnderAStreamOfRequests) {
  constexpr int kClients = 4, kSwaps = 5, kRequests = 150, kBatch = 5;
  const int64_t now = std::time(nullptr) + 60;
  std::atomic<int> failed{0}, mixed{0}, backwards{0}, swaps_done{0}, done{0};
  std::vector<std::set<int64_t>> seen(kClients);
  std::vector<std::string> first_error(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      int64_t last = 0;
      for (int i = 0; i < kRequests; ++i) {
        while (swaps_done < i * kSwaps / kRequests) std::this_thread::yield();  // spread over the swaps
        json txs = json::array();
        for (int j = 0; j < kBatch; ++j) {
          const int64_t n = i * kBatch + j;
          txs.push_back(Tx(9'200'000'000'000 + c * 100'000 + n, now + 7 * n, 800000 + c * 10 + n % 4,
                           810000 + c * 10 + n % 3, 10 + (n * 13) % 300));
        }
        HttpResult r = Predict({{"transactions", txs}});
        json body = r.Json();
        if (r.status != 200 || body["refused"] != 0) {
          if (first_error[c].empty()) first_error[c] = std::to_string(r.status) + " " + r.body + r.error;
          ++failed;
          continue;
        }
        const int64_t v = body["version"].get<int64_t>();
        for (const auto& p : body["predictions"]) mixed += p["version"].get<int64_t>() != v;
        backwards += v < last;
        last = v;
        seen[c].insert(v);
      }
      ++done;
    });
  }
  for (int s = 0; s < kSwaps; ++s) {
    const int64_t v = 2 + s;
    Promote(v);
    HttpResult reload = server_->Post("/v1/models/fraud/reload", json::object(), *admin_key_);
    EXPECT_EQ(reload.status, 200) << reload.body;
    EXPECT_EQ(reload.Json()["version"], v);
    ++swaps_done;
  }
  for (auto& t : clients) t.join();
  for (int c = 0; c < kClients; ++c) EXPECT_TRUE(first_error[c].empty()) << first_error[c];
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_EQ(backwards.load(), 0);
  std::set<int64_t> all;
  for (const auto& s : seen) all.insert(s.begin(), s.end());
  EXPECT_GE(all.size(), 3u);  // the stream overlapped the swaps
  EXPECT_EQ(server_->Get("/v1/models/fraud", *query_key_).Json()["version"], 1 + kSwaps);
}

TEST_F(ServeModelsTest, E_ACorruptChampionLeavesTheOldOneServing) {
  Promote(100, "{\"learner\": garbage");
  HttpResult reload = server_->Post("/v1/models/fraud/reload", json::object(), *admin_key_);
  EXPECT_EQ(reload.status, 409) << reload.body;
  EXPECT_EQ(reload.Json()["error"]["code"], "model_load_failed");
  EXPECT_NE(reload.Json()["error"]["message"].get<std::string>().find("version 6 keeps serving"), std::string::npos)
      << reload.body;
  json m = server_->Get("/v1/models/fraud", *query_key_).Json();
  EXPECT_EQ(m["version"], 6);
  EXPECT_EQ(m["last_error"]["version"], 100);
  HttpResult p = Predict(Tx(9'300'000'000'001, std::time(nullptr) + 10000, 700001, 700001));
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.Json()["version"], 6);
  HttpResult metrics = Http(server_->port(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("lathe_model_swaps_total{model=\"fraud\",outcome=\"error\"} 1"), std::string::npos)
      << metrics.body.substr(0, 4000);
  EXPECT_NE(metrics.body.find("lathe_model_version{model=\"fraud\"} 6"), std::string::npos);
}

// Bad models.* settings stop `lathe serve` before it listens (exit 2, the key
// named); the PostgreSQL URL in models.db is masked by --print-config.
TEST(ServeModelsConfig, BadSettingsAndMaskedDb) {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"models:\n  enabled: maybe\n", "models.enabled must be true or false"},
      {"models:\n  poll_seconds: -1\n", "models.poll_seconds must be between 0 and 86400"},
      {"models:\n  max_batch: 0\n", "models.max_batch must be between 1 and 100000"},
      {"models:\n  top_features: many\n", "models.top_features must be an integer"},
      {"models:\n  name: \"fraud/v2\"\n", "models.name must be 1 to 64 letters"},
      {"models:\n  nmae: fraud\n", "unknown key 'models.nmae'"},
  };
  for (const auto& [yaml, expect] : rows) {
    WriteFile(dir / "lathe.yaml", yaml);
    RunResult r = RunLathe(dir.path(), {"serve", "--port", "0", "--config", dir / "lathe.yaml"});
    SCOPED_TRACE(yaml);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(expect), std::string::npos) << r.err;
  }
  WriteFile(dir / "lathe.yaml", "models:\n  db: postgres://lathe:hunter2@db.example.com/lathe\n  enabled: no\n");
  RunResult r = RunLathe(dir.path(), {"serve", "--config", dir / "lathe.yaml", "--print-config"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("enabled: false"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace lathe::test
