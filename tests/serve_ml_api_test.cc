// The ML workspace's HTTP API (docs/api.md, "The ML workspace") against a
// real `lathe serve` over loopback. The state is made with the real CLI:
// `lathe data generate`, then the shipped fraud DAG run for two days (a
// champion, then a challenger judged by the promotion rule). The tests read
// runs, curves, artifacts, the registry, pipelines and validation results;
// promote and roll back and see the served model follow; trigger a run over
// HTTP and watch it finish (and be reaped); and check the table of bad
// requests and the tenant rule.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "serve_util.h"
#include "test_util.h"

namespace lathe::test {
namespace {

using json = nlohmann::json;

const std::string kSource = LATHE_SOURCE_DIR;
const char* const kTasks[] = {"extract", "validate", "features", "train", "evaluate", "promote", "deploy"};

void Replace(std::string* s, const std::string& from, const std::string& to) {
  size_t p = s->find(from);
  ASSERT_NE(p, std::string::npos) << from;
  s->replace(p, from.size(), to);
}

// Child processes of pid that have exited but were not reaped.
int Zombies(pid_t parent) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::string stat = ReadAll(e.path().string() + "/stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos || close + 4 >= stat.size()) continue;
    char state = stat[close + 2];
    long ppid = std::strtol(stat.c_str() + close + 4, nullptr, 10);
    n += ppid == parent && state == 'Z';
  }
  return n;
}

class ServeMlApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    data_ = new std::string(*dir_ / "data");
    // The shipped DAG with absolute paths, quicker training and no deploy
    // server (as tests/cli_fraud_pipeline_test.cc does).
    std::string dag = ReadAll(kSource + "/pipelines/fraud-daily.yaml");
    for (const char* rel : {"suites/transactions.yaml", "features/fraud.yaml"}) Replace(&dag, rel, kSource + "/" + rel);
    std::string train = ReadAll(kSource + "/train.yaml");
    Replace(&train, "n_estimators: 300", "n_estimators: 40");
    WriteFile(*dir_ / "train.yaml", train);
    Replace(&dag, "config: train.yaml", "config: " + (*dir_ / "train.yaml"));
    Replace(&dag, "config: train.yaml", "config: " + (*dir_ / "train.yaml"));
    Replace(&dag, "server: http://127.0.0.1:8080", "server: \"\"");
    WriteFile(*dir_ / "pipelines/fraud-daily.yaml", dag);
    RunResult gen = RunLathe(*data_, {"data", "generate", "--days", "60", "--customers", "1000", "--terminals", "500",
                                      "--seed", "7", "--start", "2026-09-15"});
    ASSERT_EQ(gen.exit_code, 0) << gen.out << gen.err;
    for (const char* day : {"2026-11-10", "2026-11-12"}) {
      RunResult run = RunLathe(*data_, {"pipeline", "run", *dir_ / "pipelines/fraud-daily.yaml", "--date", day});
      ASSERT_EQ(run.exit_code, 0) << day << run.out << run.err;
    }
    query_ = new std::string(CreateKey(*data_, "default", "query"));
    admin_ = new std::string(CreateKey(*data_, "default", "admin"));
    other_ = new std::string(CreateKey(*data_, "acme", "admin"));
    ASSERT_FALSE(query_->empty());
    server_ = new Server(*data_, "models:\n  poll_seconds: 0\npipelines:\n  dir: \"" + (*dir_ / "pipelines") + "\"\n");
    ASSERT_NE(server_->port(), 0);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(server_ && server_->port() != 0); }

  static json Get(const std::string& target, const std::string& key = "") {
    HttpResult r = server_->Get(target, key.empty() ? *query_ : key);
    EXPECT_EQ(r.status, 200) << target << " -> " << r.body;
    return r.Json();
  }
  static int64_t ServedVersion() {
    json m = Get("/v1/models/fraud");
    return m["version"].is_null() ? 0 : m["version"].get<int64_t>();
  }

  static inline TempDir* dir_ = nullptr;
  static inline std::string *data_ = nullptr, *query_ = nullptr, *admin_ = nullptr, *other_ = nullptr;
  static inline Server* server_ = nullptr;
};

TEST_F(ServeMlApiTest, A_RunsListNewestFirstWithMetricsAndFilters) {
  json experiments = Get("/v1/experiments")["data"];
  ASSERT_EQ(experiments.size(), 1u) << experiments.dump();
  EXPECT_EQ(experiments[0]["name"], "fraud");
  json runs = Get("/v1/runs")["data"];
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_GE(runs[0]["start_time"].get<int64_t>(), runs[1]["start_time"].get<int64_t>());
  EXPECT_EQ(runs[0]["tags"]["pipeline.run"], "fraud-daily/fraud-daily@2026-11-12") << runs[0].dump();
  for (const json& r : runs) {
    EXPECT_EQ(r["status"], "finished");
    EXPECT_TRUE(r["end_time"].is_number());
    EXPECT_GT(r["rows"]["train"].get<int64_t>(), 0);
    EXPECT_EQ(r["data_from"].get<std::string>().size(), 10u);
    for (const char* m : {"test.auprc", "test.roc_auc", "validation.auprc"})
      EXPECT_TRUE(r["metrics"][m].is_number()) << m << r["metrics"].dump();
  }
  json one = Get("/v1/runs?experiment=fraud&status=finished&limit=1")["data"];
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["run_id"], runs[0]["run_id"]);
  EXPECT_TRUE(Get("/v1/runs?status=running")["data"].empty());
}

TEST_F(ServeMlApiTest, B_RunPageHasCurvesArtifactsDecisionAndVersion) {
  json runs = Get("/v1/runs")["data"];
  ASSERT_EQ(runs.size(), 2u);
  const std::string id = runs[0]["run_id"];
  json run = Get("/v1/runs/" + id);
  EXPECT_EQ(run["run_id"], id);
  EXPECT_FALSE(run["params"].empty());
  EXPECT_FALSE(run["metric_history"].empty());
  ASSERT_GT(run["curves"]["pr"].size(), 2u);
  ASSERT_GT(run["curves"]["roc"].size(), 2u);
  for (const char* k : {"threshold", "precision", "recall"}) EXPECT_TRUE(run["curves"]["pr"][0].contains(k)) << k;
  for (const char* k : {"threshold", "fpr", "tpr"}) EXPECT_TRUE(run["curves"]["roc"][0].contains(k)) << k;
  EXPECT_EQ(run["model_version"], 2);
  EXPECT_EQ(run["model_name"], "fraud");
  ASSERT_TRUE(run["decision"].is_object()) << run.dump().substr(0, 2000);
  EXPECT_TRUE(run["decision"]["decision"] == "promote" || run["decision"]["decision"] == "keep");
  EXPECT_EQ(run["decision"]["challenger_version"], 2);
  std::string url;
  for (const json& a : run["artifacts"])
    if (a["name"] == "pr_curve.json") url = a["url"];
  ASSERT_EQ(url, "/v1/runs/" + id + "/artifacts/pr_curve.json");
  HttpResult bytes = server_->Get(url, *query_);
  ASSERT_EQ(bytes.status, 200) << bytes.body;
  EXPECT_EQ(bytes.Header("content-type"), "application/json");
  // The stored curve whole; the run page's copy thinned to at most 500
  // points (first and last kept) unless asked otherwise.
  const json stored = bytes.Json();
  ASSERT_EQ(run["curve_points_total"]["pr"], stored.size());
  EXPECT_EQ(run["curves"]["pr"].size(), std::min<size_t>(stored.size(), 500));
  EXPECT_EQ(run["curves"]["pr"].front(), stored.front());
  EXPECT_EQ(run["curves"]["pr"].back(), stored.back());
  EXPECT_EQ(Get("/v1/runs/" + id + "?curve_points=0")["curves"]["pr"], stored);
  json three = Get("/v1/runs/" + id + "?curve_points=3");
  ASSERT_EQ(three["curves"]["pr"].size(), std::min<size_t>(stored.size(), 3));
  EXPECT_EQ(three["curves"]["roc"].size(), std::min<size_t>(run["curve_points_total"]["roc"].get<size_t>(), 3));
  for (const char* bad : {"-1", "x", "1.5", "99999999999"}) {
    HttpResult r = server_->Get("/v1/runs/" + id + "?curve_points=" + bad, *query_);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
  }
  // The first run made the first champion: no champion to compare with.
  json first = Get("/v1/runs/" + runs[1]["run_id"].get<std::string>());
  EXPECT_EQ(first["model_version"], 1);
  ASSERT_TRUE(first["decision"].is_object());
  EXPECT_TRUE(first["decision"]["champion_version"].is_null());
}

TEST_F(ServeMlApiTest, C_RegistryShowsVersionsAliasesHistoryAndDecisions) {
  json models = Get("/v1/registry/models")["data"];
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0]["name"], "fraud");
  EXPECT_EQ(models[0]["latest_version"], 2);
  json m = Get("/v1/registry/models/fraud");
  ASSERT_EQ(m["versions"].size(), 2u);
  EXPECT_EQ(m["versions"][0]["version"], 2);  // newest first
  EXPECT_TRUE(m["versions"][0]["test_auprc"].is_number());
  for (const json& v : m["versions"]) {  // the same value the run's own page shows
    EXPECT_EQ(v["test_auprc"], Get("/v1/runs/" + v["run_id"].get<std::string>())["metrics"]["test.auprc"]) << v.dump();
  }
  const int64_t champion = m["champion"];
  EXPECT_EQ(ServedVersion(), champion);
  bool badge = false;
  for (const json& v : m["versions"])
    for (const json& a : v["aliases"]) badge = badge || (a == "champion" && v["version"] == champion);
  EXPECT_TRUE(badge) << m.dump();
  ASSERT_EQ(m["decisions"].size(), 2u);
  EXPECT_GT(m["decisions"][0]["decision_id"].get<int64_t>(), m["decisions"][1]["decision_id"].get<int64_t>());
  EXPECT_EQ(m["decisions"][0]["challenger_version"], 2);
  EXPECT_EQ(m["decisions"][0]["ci"].size(), 2u);
  ASSERT_FALSE(m["history"].empty());
  EXPECT_EQ(m["history"][0]["alias"].is_string(), true);
}

TEST_F(ServeMlApiTest, D_PromoteAndRollbackMoveTheServedModel) {
  const int64_t before = Get("/v1/registry/models/fraud")["champion"];
  const int64_t other = before == 2 ? 1 : 2;
  HttpResult refused = server_->Post("/v1/registry/models/fraud/promote", {{"version", other}}, *query_);
  EXPECT_EQ(refused.status, 403) << refused.body;
  HttpResult promoted =
      server_->Post("/v1/registry/models/fraud/promote", {{"version", other}, {"reason", "drill"}}, *admin_);
  ASSERT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_EQ(promoted.Json()["champion"], other);
  EXPECT_EQ(promoted.Json()["previous_champion"], before);
  EXPECT_EQ(promoted.Json()["served"]["version"], other);
  EXPECT_EQ(ServedVersion(), other);
  json m = Get("/v1/registry/models/fraud");
  EXPECT_EQ(m["champion"], other);
  EXPECT_EQ(m["history"][0]["reason"], "manual: drill");

  HttpResult back = server_->Post("/v1/registry/models/fraud/rollback", json::object(), *admin_);
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(back.Json()["champion"], before);
  EXPECT_EQ(back.Json()["previous_champion"], other);
  EXPECT_EQ(ServedVersion(), before);
  // Rolling back pops earlier champions until there is none before.
  HttpResult last;
  for (int i = 0; i < 5; ++i) {
    last = server_->Post("/v1/registry/models/fraud/rollback", json::object(), *admin_);
    if (last.status != 200) break;
  }
  EXPECT_EQ(last.status, 409) << last.body;
  EXPECT_EQ(last.Json()["error"]["code"], "nothing_to_roll_back");
  EXPECT_EQ(ServedVersion(), Get("/v1/registry/models/fraud")["champion"].get<int64_t>());
}

TEST_F(ServeMlApiTest, E_PipelinesShowTheDagAndTaskStates) {
  json dags = Get("/v1/pipelines")["data"];
  ASSERT_EQ(dags.size(), 1u);
  const json& d = dags[0];
  EXPECT_EQ(d["dag_id"], "fraud-daily");
  EXPECT_EQ(d["schedule"], "0 2 * * *");
  ASSERT_EQ(d["tasks"].size(), 7u);
  EXPECT_EQ(d["tasks"][0]["task_id"], "extract");
  EXPECT_TRUE(d["tasks"][0]["upstream"].empty());
  EXPECT_EQ(d["tasks"][1]["upstream"], json::array({"extract"}));
  ASSERT_TRUE(d["latest_run"].is_object());
  EXPECT_EQ(d["latest_run"]["ds"], "2026-11-12");
  for (const char* t : kTasks) EXPECT_EQ(d["latest_run"]["tasks"][t]["state"], "success") << t;

  json one = Get("/v1/pipelines/fraud-daily?limit=1");
  EXPECT_EQ(one["runs"].size(), 1u);
  EXPECT_EQ(Get("/v1/pipelines/fraud-daily")["runs"].size(), 2u);
  json run = Get("/v1/pipeline-runs/fraud-daily@2026-11-10");
  EXPECT_EQ(run["state"], "success");
  EXPECT_EQ(run["kind"], "external");
  json tries = Get("/v1/pipeline-runs/fraud-daily@2026-11-10/tries?task=train")["data"];
  ASSERT_EQ(tries.size(), 1u);
  EXPECT_EQ(tries[0]["task_id"], "train");
  EXPECT_EQ(tries[0]["state"], "success");
  EXPECT_FALSE(tries[0]["log"].get<std::string>().empty());
  EXPECT_EQ(Get("/v1/pipeline-runs/fraud-daily@2026-11-10/tries")["data"].size(), 7u);
}

TEST_F(ServeMlApiTest, F_TriggerStartsARunRefusesADuplicateAndReapsIt) {
  const std::string path = "/v1/pipelines/fraud-daily/runs";
  HttpResult refused = server_->Post(path, {{"date", "2026-11-13"}}, *query_);
  EXPECT_EQ(refused.status, 403) << refused.body;
  HttpResult started = server_->Post(path, {{"date", "2026-11-13"}}, *admin_);
  ASSERT_EQ(started.status, 202) << started.body;
  EXPECT_EQ(started.Json()["run_id"], "fraud-daily@2026-11-13");
  EXPECT_EQ(started.Json()["dag_id"], "fraud-daily");
  EXPECT_EQ(started.Json()["ds"], "2026-11-13");
  EXPECT_EQ(started.Json()["state"], "queued");
  HttpResult again = server_->Post(path, {{"date", "2026-11-13"}}, *admin_);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(again.Json()["error"]["code"], "run_in_progress");

  // Wait for the run to end (bounded: the test's timeout is the limit).
  json run;
  for (int i = 0; i < 2400; ++i) {
    run = Get("/v1/pipeline-runs/fraud-daily@2026-11-13");
    if (run["state"] == "success" || run["state"] == "failed") break;
    usleep(100000);
  }
  ASSERT_EQ(run["state"], "success") << run.dump() << ReadAll(*data_ + "/logs/triggers/fraud-daily@2026-11-13.log");
  for (const char* t : kTasks) EXPECT_EQ(run["tasks"][t]["state"], "success") << t;
  // The server reaps its child: no zombie stays behind.
  int zombies = 1;
  for (int i = 0; i < 200 && (zombies = Zombies(server_->child()->pid())) > 0; ++i) usleep(50000);
  EXPECT_EQ(zombies, 0);
  EXPECT_EQ(Get("/v1/runs")["data"].size(), 3u);
  HttpResult done = server_->Post(path, {{"date", "2026-11-13"}}, *admin_);
  EXPECT_EQ(done.status, 409) << done.body;
  EXPECT_EQ(done.Json()["error"]["code"], "run_succeeded");
}

TEST_F(ServeMlApiTest, G_ValidationResultsReportsAndDrift) {
  json results = Get("/v1/validation")["data"];
  ASSERT_GE(results.size(), 2u);
  EXPECT_GE(results[0]["day"].get<std::string>(), results[1]["day"].get<std::string>());
  EXPECT_EQ(results[0]["suite"], "transactions");
  EXPECT_TRUE(results[0]["passed"].is_boolean());
  EXPECT_GT(results[0]["rows"].get<int64_t>(), 0);
  EXPECT_EQ(Get("/v1/validation?suite=transactions&limit=1")["data"].size(), 1u);
  const int64_t id = results[0]["result_id"];
  json r = Get("/v1/validation/" + std::to_string(id));
  EXPECT_EQ(r["format"], "lathe.validation/1");
  EXPECT_EQ(r["result_id"], id);
  EXPECT_EQ(r["day"], results[0]["day"]);
  EXPECT_GT(r["checks"].size(), 10u);
  EXPECT_EQ(r["report_url"], "/v1/validation/" + std::to_string(id) + "/report");
  HttpResult report = server_->Get(r["report_url"], *query_);
  ASSERT_EQ(report.status, 200);
  EXPECT_EQ(report.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(report.body.find("<svg"), std::string::npos);

  json drift = Get("/v1/validation/drift?suite=transactions");
  EXPECT_EQ(drift["suite"], "transactions");
  const json& amount = drift["features"]["amount"];
  ASSERT_GE(amount.size(), 4u) << drift.dump();  // psi and ks on each of >= 2 days
  std::set<std::string> types;
  for (size_t i = 0; i < amount.size(); ++i) {
    types.insert(amount[i]["type"].get<std::string>());
    if (i) {
      EXPECT_LE(amount[i - 1]["day"].get<std::string>(), amount[i]["day"].get<std::string>());
    }
    EXPECT_TRUE(amount[i]["value"].is_number());
    EXPECT_TRUE(amount[i]["max"].is_number());
  }
  EXPECT_EQ(types, (std::set<std::string>{"psi", "ks"}));
  EXPECT_TRUE(drift["features"].contains("hour_of_day"));
  EXPECT_EQ(Get("/v1/validation/drift?suite=transactions&limit=1")["features"]["amount"].size(), 2u);
}

TEST_F(ServeMlApiTest, H_BadRequestsGetClearErrors) {
  const std::string q = *query_, a = *admin_;
  const std::string run_id = Get("/v1/runs")["data"][0]["run_id"];
  struct Case {
    std::string method, target, body, key;
    int status;
    std::string code, message;
  };
  const std::string trigger = "/v1/pipelines/fraud-daily/runs";
  const std::string promote = "/v1/registry/models/fraud/promote";
  const std::vector<Case> cases = {
      {"GET", "/v1/runs/nope", "", q, 404, "run_not_found", "no run with id 'nope'"},
      {"GET", "/v1/runs?limit=0", "", q, 400, "invalid_limit", "'limit' must be an integer from 1 to 1000, got '0'"},
      {"GET", "/v1/runs?limit=ten", "", q, 400, "invalid_limit", "got 'ten'"},
      {"GET", "/v1/runs?status=done", "", q, 400, "invalid_status", "must be running, finished or failed"},
      {"GET", "/v1/runs?experiment=ghost", "", q, 404, "experiment_not_found", "no experiment named 'ghost'"},
      {"GET", "/v1/runs/" + run_id + "/artifacts/nothing.bin", "", q, 404, "artifact_not_found", "nothing.bin"},
      {"GET", "/v1/registry/models/churn", "", q, 404, "model_not_found", "no registered model named 'churn'"},
      {"POST", promote, "{not json", a, 400, "invalid_json", "not a JSON object"},
      {"POST", promote, "", a, 400, "invalid_json", "request body is empty"},
      {"POST", promote, R"({"reason": "x"})", a, 400, "invalid_version", "field 'version' is required"},
      {"POST", promote, R"({"version": "two"})", a, 400, "invalid_version", "positive integer version number, got \"two\""},
      {"POST", promote, R"({"version": 1.5})", a, 400, "invalid_version", "got 1.5"},
      {"POST", promote, R"({"version": 99})", a, 404, "version_not_found", "has no version 99"},
      {"POST", promote, R"({"version": 1, "reason": 7})", a, 400, "invalid_argument", "'reason' must be a string"},
      {"POST", "/v1/registry/models/churn/promote", R"({"version": 1})", a, 404, "model_not_found", "churn"},
      {"POST", "/v1/registry/models/churn/rollback", "{}", a, 404, "model_not_found", "churn"},
      {"POST", "/v1/registry/models/fraud/rollback", "{}", q, 403, "", "admin scope"},
      {"GET", "/v1/pipelines/ghost", "", q, 404, "dag_not_found", "no DAG 'ghost'"},
      {"GET", "/v1/pipelines/fraud-daily?limit=-1", "", q, 400, "invalid_limit", "got '-1'"},
      {"GET", "/v1/pipeline-runs/ghost@2026-01-01", "", q, 404, "run_not_found", "ghost@2026-01-01"},
      {"GET", "/v1/pipeline-runs/fraud-daily@2026-11-10/tries?task=ghost", "", q, 404, "task_not_found", "'ghost'"},
      {"POST", trigger, R"({"date": "2026-02-30"})", a, 400, "invalid_date", "YYYY-MM-DD, got '2026-02-30'"},
      {"POST", trigger, R"({"date": "tomorrow"})", a, 400, "invalid_date", "got 'tomorrow'"},
      {"POST", trigger, "{}", a, 400, "invalid_argument", "field 'date' is required"},
      {"POST", trigger, R"({"date": "2026-11-14", "force": "yes"})", a, 400, "invalid_argument", "true or false"},
      {"POST", trigger, "[1, 2]", a, 400, "invalid_json", "not a JSON object"},
      {"POST", "/v1/pipelines/ghost/runs", R"({"date": "2026-11-14"})", a, 404, "dag_not_found", "ghost"},
      {"GET", "/v1/validation/abc", "", q, 404, "result_not_found", "'abc'"},
      {"GET", "/v1/validation/999999", "", q, 404, "result_not_found", "999999"},
      {"GET", "/v1/validation/999999/report", "", q, 404, "result_not_found", "999999"},
      {"GET", "/v1/validation?limit=5000", "", q, 400, "invalid_limit", "from 1 to 1000"},
      {"GET", "/v1/validation/drift?suite=ghost", "", q, 404, "suite_not_found", "'ghost'"},
      {"GET", "/v1/runs", "", "", 401, "", ""},
      {"GET", "/v1/runs", "", "lk_bogus_key", 401, "", ""},
      // Another tenant's keys do not see the workspace, even with admin scope.
      {"GET", "/v1/runs", "", *other_, 404, "not_found", "not shared with tenant 'acme'"},
      {"GET", "/v1/registry/models/fraud", "", *other_, 404, "not_found", "acme"},
      {"POST", promote, R"({"version": 1})", *other_, 404, "not_found", "acme"},
      {"POST", trigger, R"({"date": "2026-11-14"})", *other_, 404, "not_found", "acme"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + " " + c.target + " " + c.body);
    HttpResult r = Http(server_->port(), c.method, c.target, c.body, Server::Auth(c.key));
    EXPECT_EQ(r.status, c.status) << r.body;
    json err = r.Json();
    ASSERT_TRUE(err.contains("error")) << r.body;
    if (!c.code.empty()) {
      EXPECT_EQ(err["error"]["code"], c.code) << r.body;
    }
    if (!c.message.empty()) {
      EXPECT_NE(err["error"]["message"].get<std::string>().find(c.message), std::string::npos) << r.body;
    }
  }
  // Nothing above changed the registry or started a run.
  EXPECT_EQ(Get("/v1/pipelines/fraud-daily")["runs"].size(), 3u);
}

}  // namespace
}  // namespace lathe::test
