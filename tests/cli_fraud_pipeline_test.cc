// The daily fraud pipeline end to end through the real `lathe` binary: the
// shipped DAG's seven operators on generated transactions (docs/pipelines.md,
// "The fraud operators"): a first run makes a champion, a later one a
// challenger judged by the promotion rule; a day that fails validation trains
// and promotes nothing; kill -9 during train then resume promotes once.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "db_fixture.h"
#include "storage/db.h"
#include "serve_util.h"
#include "test_util.h"
#include "webhook_receiver.h"

namespace lathe::test {
namespace {

using nlohmann::json;

const std::string kSource = LATHE_SOURCE_DIR;

class FraudPipeline : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string error;
    url_ = FreshDbUrl(GetParam(), dir_, "", &error);
    if (GetParam() == "postgres") {
      ASSERT_FALSE(url_.empty()) << error;
    }
    // The shipped DAG with its relative paths made absolute (the tests do
    // not run in the repository root) and a quicker training set-up.
    std::string dag = ReadAll(kSource + "/pipelines/fraud-daily.yaml");
    for (const char* rel : {"suites/transactions.yaml", "features/fraud.yaml"}) Replace(&dag, rel, kSource + "/" + rel);
    std::string train = ReadAll(kSource + "/train.yaml");
    Replace(&train, "n_estimators: 300", "n_estimators: 60");
    WriteFile(dir_ / "train.yaml", train);
    Replace(&dag, "config: train.yaml", "config: " + (dir_ / "train.yaml"));  // features
    Replace(&dag, "config: train.yaml", "config: " + (dir_ / "train.yaml"));  // train
    Replace(&dag, "server: http://127.0.0.1:8080", "server: \"\"");
    Replace(&dag, "retry_delay: 1m", "retry_delay: 1s");  // the failing-day tests retry extract
    WriteFile(dir_ / "fraud-daily.yaml", dag);
    dag_ = dir_ / "fraud-daily.yaml";
    RunResult gen = Lathe({"data", "generate", "--days", "60", "--customers", "1000", "--terminals", "500", "--seed",
                           "7", "--start", "2026-09-15"});
    ASSERT_EQ(gen.exit_code, 0) << gen.out << gen.err;
  }
  static void Replace(std::string* s, const std::string& from, const std::string& to) {
    size_t p = s->find(from);
    ASSERT_NE(p, std::string::npos) << from;
    s->replace(p, from.size(), to);
  }
  std::string Data() const { return dir_ / "data"; }
  RunResult Lathe(std::vector<std::string> args) {
    if (!url_.empty()) args.insert(args.end(), {"--db", url_});
    return RunLathe(Data(), args);
  }
  std::vector<std::string> LatheArgv(std::vector<std::string> args) {
    args.insert(args.begin(), {LATHE_BINARY, "--data-dir", Data()});
    if (!url_.empty()) args.insert(args.end(), {"--db", url_});
    return args;
  }
  json Json(std::vector<std::string> args) {
    args.push_back("--json");
    RunResult r = Lathe(args);
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    return j;
  }
  std::unique_ptr<storage::Db> Store() {
    auto db = storage::OpenDb(url_, Data());
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }
  // The state of each task of a run, from `pipeline status`.
  json Tasks(const std::string& ds) {
    for (const json& r : Json({"pipeline", "status", "fraud-daily"}))
      if (r["ds"] == ds) return r["tasks"];
    return json();
  }
  TempDir dir_;
  std::string url_, dag_;
};

TEST_P(FraudPipeline, FirstRunMakesAChampionAndALaterChallengerIsJudgedByTheRule) {
  RunResult first = Lathe({"pipeline", "run", dag_, "--date", "2026-11-10"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  json tasks = Tasks("2026-11-10");
  for (const char* t : {"extract", "validate", "features", "train", "evaluate", "promote", "deploy"})
    EXPECT_EQ(tasks[t]["state"], "success") << t << tasks.dump();
  auto db = Store();
  ASSERT_TRUE(db);
  EXPECT_EQ(*db->QueryInt("SELECT COUNT(*) FROM model_versions WHERE name = 'fraud'"), 1);
  EXPECT_EQ(*db->QueryInt("SELECT version FROM model_aliases WHERE name = 'fraud' AND alias = 'champion'"), 1);
  EXPECT_EQ(*db->QueryInt("SELECT COUNT(*) FROM run_tags WHERE key = 'pipeline.run' AND value = "
                          "'fraud-daily/fraud-daily@2026-11-10'"),
            1);

  RunResult second = Lathe({"pipeline", "run", dag_, "--date", "2026-11-12"});
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_EQ(*db->QueryInt("SELECT COUNT(*) FROM model_versions WHERE name = 'fraud'"), 2);
  int64_t promoted = *db->QueryInt("SELECT COUNT(*) FROM promotion_decisions WHERE name = 'fraud' AND "
                                   "challenger_version = 2 AND promote = 1");
  int64_t champion = *db->QueryInt("SELECT version FROM model_aliases WHERE name = 'fraud' AND alias = 'champion'");
  EXPECT_EQ(champion, promoted ? 2 : 1);  // the alias follows the recorded decision
  RunResult logs = Lathe({"pipeline", "logs", "fraud-daily@2026-11-12", "evaluate"});
  EXPECT_NE(logs.out.find(promoted ? "promote" : "keep"), std::string::npos) << logs.out;

  // A finished run again is a no-op: no third version.
  ASSERT_EQ(Lathe({"pipeline", "run", dag_, "--date", "2026-11-12"}).exit_code, 0);
  EXPECT_EQ(*db->QueryInt("SELECT COUNT(*) FROM model_versions WHERE name = 'fraud'"), 2);
}

TEST_P(FraudPipeline, ADayThatFailsValidationTrainsAndPromotesNothing) {
  auto db = Store();
  ASSERT_TRUE(db);
  int64_t day = 1794355200;  // 2026-11-11
  ASSERT_TRUE(db->Execute("UPDATE transactions SET amount = amount * 3 WHERE ts >= $1 AND ts < $2",
                          {day, day + 86400}).ok());
  RunResult r = Lathe({"pipeline", "run", dag_, "--date", "2026-11-11"});
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  json tasks = Tasks("2026-11-11");
  EXPECT_EQ(tasks["extract"]["state"], "success");
  EXPECT_EQ(tasks["validate"]["state"], "failed") << tasks.dump();
  for (const char* t : {"features", "train", "evaluate", "promote", "deploy"})
    EXPECT_EQ(tasks[t]["state"], "upstream_failed") << t;
  EXPECT_EQ(*db->QueryInt("SELECT COUNT(*) FROM runs"), 0);
  EXPECT_EQ(*db->QueryInt("SELECT COUNT(*) FROM model_versions"), 0);
  RunResult logs = Lathe({"pipeline", "logs", "fraud-daily@2026-11-11", "validate"});
  EXPECT_NE(logs.out.find("nothing is trained or promoted"), std::string::npos) << logs.out;
}

TEST_P(FraudPipeline, Kill9DuringTrainThenResumePromotesOnce) {
  Child run(LatheArgv({"pipeline", "run", dag_, "--date", "2026-11-10"}));
  std::string line;
  pid_t train_pid = 0;
  while (run.ReadLine(&line))
    if (size_t at = line.find("task train try 1 started (pid "); at != std::string::npos) {
      train_pid = static_cast<pid_t>(std::stol(line.substr(at + 30)));
      break;
    }
  ASSERT_GT(train_pid, 0);
  // Until the task process has written its log, it has not recorded its try.
  const std::string log = Data() + "/pipeline/logs/fraud-daily@2026-11-10/train/try-1.log";
  for (int i = 0; i < 500 && ReadAll(log).find("params") == std::string::npos; ++i) usleep(5000);
  // A crash of the machine: the executor and the task process die together
  // (the executor gives its tries PR_SET_PDEATHSIG; killing both makes it certain).
  run.Kill9();
  kill(train_pid, SIGKILL);
  for (int i = 0; i < 500 && kill(train_pid, 0) == 0; ++i) usleep(10000);
  RunResult resumed = Lathe({"pipeline", "resume", "fraud-daily@2026-11-10"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  json tasks = Tasks("2026-11-10");
  for (const char* t : {"extract", "validate", "features", "train", "evaluate", "promote", "deploy"})
    EXPECT_EQ(tasks[t]["state"], "success") << t << tasks.dump();
  // The killed try is recorded as abandoned and a second one finished it.
  std::vector<std::string> train_states;
  for (const json& t : Json({"pipeline", "logs", "fraud-daily@2026-11-10", "train"}))
    train_states.push_back(t["state"].get<std::string>());
  EXPECT_EQ(train_states, (std::vector<std::string>{"abandoned", "success"}));
  auto db = Store();
  ASSERT_TRUE(db);
  // One version for the pipeline run, one champion move for it.
  EXPECT_EQ(*db->QueryInt("SELECT COUNT(*) FROM model_versions WHERE name = 'fraud'"), 1);
  EXPECT_EQ(*db->QueryInt("SELECT COUNT(*) FROM model_alias_history WHERE name = 'fraud' AND alias = 'champion' "
                          "AND idempotency_key = 'fraud-daily/fraud-daily@2026-11-10'"),
            1);
  // Train again by hand for the same run: the version it registered is reused.
  RunResult retrain = Lathe({"task", "run", dag_, "train", "--date", "2026-11-10", "--force"});
  EXPECT_EQ(retrain.exit_code, 0) << retrain.out << retrain.err;
  EXPECT_EQ(*db->QueryInt("SELECT COUNT(*) FROM model_versions WHERE name = 'fraud'"), 1);
  RunResult train_log = Lathe({"pipeline", "logs", "fraud-daily@2026-11-10", "train"});
  EXPECT_NE(train_log.out.find("already registered fraud v1"), std::string::npos) << train_log.out;
  // Promote again by hand for the same run: the key has been used.
  RunResult again = Lathe({"task", "run", dag_, "promote", "--date", "2026-11-10", "--force"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(*db->QueryInt("SELECT COUNT(*) FROM model_alias_history WHERE name = 'fraud' AND alias = 'champion'"), 1);
}

TEST_P(FraudPipeline, ExtractPullsTheWindowFromASourceDatabaseAndADayWithoutDataFails) {
  // A source with other transactions (another seed) for the same days.
  const std::string source = "sqlite:" + (dir_ / "source.db");
  RunResult gen = RunLathe(Data(), {"data", "generate", "--days", "60", "--customers", "700", "--terminals", "400",
                                    "--seed", "11", "--start", "2026-09-15", "--db", source});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  std::string dag = ReadAll(dag_);
  Replace(&dag, "# source: postgres://reader@oltp:5432/payments", "source: \"" + source + "\"");
  WriteFile(dag_, dag);
  RunResult r = Lathe({"task", "run", dag_, "extract", "--date", "2026-11-10"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto src = storage::OpenDb(source, Data());
  ASSERT_TRUE(src.ok());
  auto db = Store();
  ASSERT_TRUE(db);
  // 2026-09-12 .. 2026-11-10 inclusive: the store now holds exactly the source's rows there.
  EXPECT_EQ(*db->QueryInt("SELECT COUNT(*) FROM transactions WHERE ts >= 1789171200 AND ts < 1794355200"),
            *(*src)->QueryInt("SELECT COUNT(*) FROM transactions WHERE ts >= 1789171200 AND ts < 1794355200"));
  EXPECT_EQ(*db->QueryInt("SELECT COUNT(*) FROM customers"), 700);
  EXPECT_EQ(*db->QueryInt("SELECT MAX(customer_id) FROM transactions WHERE ts < 1794355200"),
            *(*src)->QueryInt("SELECT MAX(customer_id) FROM transactions WHERE ts < 1794355200"));

  // A date after the data: extract says so and nothing downstream runs.
  RunResult empty = Lathe({"pipeline", "run", dag_, "--date", "2026-12-20"});
  EXPECT_NE(empty.exit_code, 0);
  json tasks = Tasks("2026-12-20");
  EXPECT_EQ(tasks["extract"]["state"], "failed") << tasks.dump();
  EXPECT_EQ(tasks["train"]["state"], "upstream_failed");
  RunResult log = Lathe({"pipeline", "logs", "fraud-daily@2026-12-20", "extract"});
  EXPECT_NE(log.out.find("no transactions on 2026-12-20"), std::string::npos) << log.out;
}

// lathe serve without models.dir serves the registry's champion (models.db);
// deploy's reload call (and its CI/CD webhook) and a rollback move what it serves.
TEST_P(FraudPipeline, TheServerFollowsTheRegistryChampionThroughDeployAndRollback) {
  ASSERT_EQ(Lathe({"pipeline", "run", dag_, "--date", "2026-11-10"}).exit_code, 0);
  RunResult train = Lathe({"train", "--config", dir_ / "train.yaml", "--features", kSource + "/features/fraud.yaml",
                           "--date", "2026-11-12", "--no-promote"});
  ASSERT_EQ(train.exit_code, 0) << train.out << train.err;
  const std::string key = CreateKey(Data(), "default", "admin");
  ASSERT_FALSE(key.empty());
  std::string yaml = "models:\n  poll_seconds: 3600\n";
  if (!url_.empty()) yaml += "  db: \"" + url_ + "\"\n";  // the ML store on PostgreSQL
  Server server(Data(), yaml);
  ASSERT_GT(server.port(), 0);
  auto version = [&]() {
    HttpResult r = server.Get("/v1/models/fraud", key);
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("version") && j["version"].is_number() ? j["version"].get<int64_t>() : -1;
  };
  EXPECT_EQ(version(), 1);
  json tx = {{"transaction_id", 990000001}, {"ts", static_cast<int64_t>(std::time(nullptr))}, {"customer_id", 42},
             {"terminal_id", 7}, {"amount", 1890.5}};
  HttpResult scored = server.Post("/v1/models/fraud/predict", tx, key);
  ASSERT_EQ(scored.status, 200) << scored.body;
  EXPECT_EQ(json::parse(scored.body)["version"], 1);

  // Manual promotion, then the pipeline's deploy task tells the server.
  ASSERT_EQ(Lathe({"models", "promote", "fraud", "2"}).exit_code, 0);
  std::string dag = ReadAll(dag_);
  WebhookReceiver hook;
  Replace(&dag, "server: \"\"", "server: http://127.0.0.1:" + std::to_string(server.port()) + "\n      always: true");
  Replace(&dag, "webhook: \"\"", "webhook: " + hook.url());
  WriteFile(dag_, dag);
  setenv("LATHE_ADMIN_KEY", key.c_str(), 1);
  RunResult deploy = Lathe({"task", "run", dag_, "deploy", "--date", "2026-11-10", "--force"});
  unsetenv("LATHE_ADMIN_KEY");
  ASSERT_EQ(deploy.exit_code, 0) << deploy.out << deploy.err;
  EXPECT_EQ(version(), 2);
  RunResult log = Lathe({"pipeline", "logs", "fraud-daily@2026-11-10", "deploy"});
  EXPECT_NE(log.out.find("reloaded"), std::string::npos) << log.out;
  // The CI/CD hook heard about it.
  std::vector<json> calls = hook.bodies();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["event"], "model_deployed");
  EXPECT_EQ(calls[0]["model"], "fraud");
  EXPECT_EQ(calls[0]["version"], 2);
  EXPECT_EQ(calls[0]["run_id"], "fraud-daily@2026-11-10");

  ASSERT_EQ(Lathe({"models", "rollback", "fraud"}).exit_code, 0);
  ASSERT_EQ(server.Post("/v1/models/fraud/reload", json::object(), key).status, 200);
  EXPECT_EQ(version(), 1);
}

INSTANTIATE_TEST_SUITE_P(Engines, FraudPipeline, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace lathe::test
