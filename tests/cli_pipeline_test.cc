// The DAG engine through the real `lathe` binary: pipeline run / backfill /
// status / logs / resume, scheduler and task run, with shell tasks whose side
// effects are counted in files, on SQLite and PostgreSQL (docs/testing.md).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "db_fixture.h"
#include "test_util.h"
#include "webhook_receiver.h"

namespace lathe::test {
namespace {

using nlohmann::json;

const std::string kDags = std::string(LATHE_SOURCE_DIR) + "/tests/data/pipelines";

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream in(ReadAll(path));
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

size_t Count(const std::vector<std::string>& lines, const std::string& line) {
  return static_cast<size_t>(std::count(lines.begin(), lines.end(), line));
}

class PipelineCli : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string error;
    url_ = FreshDbUrl(GetParam(), dir_, "", &error);
    if (GetParam() == "postgres") {
      ASSERT_FALSE(url_.empty()) << error;
    }
  }
  std::string Data() const { return dir_ / "data"; }
  std::vector<std::string> Effects() const { return Lines(dir_ / "data/effects"); }
  // `lathe --data-dir DATA <args> [--db URL]`.
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
  // Tries of a run by task, from `pipeline logs RUN --json`.
  std::map<std::string, std::vector<json>> Tries(const std::string& run) {
    std::map<std::string, std::vector<json>> out;
    for (const json& t : Json({"pipeline", "logs", run})) out[t["task_id"]].push_back(t);
    for (auto& [task, tries] : out)
      std::sort(tries.begin(), tries.end(),
                [](const json& a, const json& b) { return a["try_number"] < b["try_number"]; });
    return out;
  }
  TempDir dir_;
  std::string url_;
};

TEST_P(PipelineCli, DependencyOrderAndIndependentTasksOverlap) {
  RunResult r = Lathe({"pipeline", "run", kDags + "/diamond.yaml", "--date", "2026-11-03"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto tries = Tries("diamond@2026-11-03");
  for (const char* t : {"start", "left", "right", "join"}) {
    ASSERT_EQ(tries[t].size(), 1u) << t;
    EXPECT_EQ(tries[t][0]["state"], "success") << t << tries[t][0].dump();
  }
  auto start = [&](const char* t) { return tries[t][0]["started_ms"].get<int64_t>(); };
  auto end = [&](const char* t) { return tries[t][0]["ended_ms"].get<int64_t>(); };
  EXPECT_LE(end("start"), start("left"));
  EXPECT_LE(end("start"), start("right"));
  EXPECT_GE(start("join"), end("left"));
  EXPECT_GE(start("join"), end("right"));
  // left and right each waited for the other's marker: both succeeding proves overlap.
  EXPECT_LT(start("left"), end("right"));
  EXPECT_LT(start("right"), end("left"));
  auto effects = Effects();
  ASSERT_EQ(effects.size(), 4u);
  EXPECT_EQ(effects.front(), "start 2026-11-03");
  EXPECT_EQ(effects.back(), "join diamond@2026-11-03");
  json status = Json({"pipeline", "status", "diamond"});
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0]["state"], "success");
  EXPECT_EQ(status[0]["kind"], "external");
  EXPECT_EQ(status[0]["tasks"]["join"]["state"], "success");
}

TEST_P(PipelineCli, Kill9MidTaskThenResumeRunsEachTaskOnce) {
  Child run(LatheArgv({"pipeline", "run", kDags + "/crash.yaml", "--date", "2026-11-03"}));
  std::string line;
  bool b_started = false;
  while (run.ReadLine(&line))
    if (line.find("task b try 1 started") != std::string::npos) {
      b_started = true;
      break;
    }
  ASSERT_TRUE(b_started);
  // Until b's shell has written its start marker, it has not begun.
  for (int i = 0; i < 200 && Lines(dir_ / "data/starts").empty(); ++i) usleep(10000);
  run.Kill9();
  json status = Json({"pipeline", "status", "crash"});
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0]["state"], "running");
  EXPECT_EQ(status[0]["tasks"]["b"]["state"], "running");

  // As if the dead executor had run on another host: its pid cannot be
  // checked from here, so resume refuses until told to take over.
  {
    auto db = storage::OpenDb(url_, Data());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Execute("UPDATE pipeline_runs SET owner_host = 'elsewhere' WHERE run_id = $1",
                               {std::string("crash@2026-11-03")}).ok());
  }
  RunResult refused = Lathe({"pipeline", "resume", "crash@2026-11-03"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("on host elsewhere; if that executor is dead"), std::string::npos) << refused.err;
  EXPECT_EQ(Effects(), (std::vector<std::string>{"a 2026-11-03"}));
  RunResult r = Lathe({"pipeline", "resume", "crash@2026-11-03", "--takeover"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Effects(), (std::vector<std::string>{"a 2026-11-03", "b 2026-11-03", "c 2026-11-03"}));
  auto tries = Tries("crash@2026-11-03");
  ASSERT_EQ(tries["a"].size(), 1u);
  ASSERT_EQ(tries["b"].size(), 2u);
  EXPECT_EQ(tries["b"][0]["state"], "abandoned");
  EXPECT_NE(tries["b"][0]["exit_reason"].get<std::string>().find("ended without recording a result"), std::string::npos);
  EXPECT_EQ(tries["b"][1]["state"], "success");
  ASSERT_EQ(tries["c"].size(), 1u);
  // The finished run: another resume or run changes nothing.
  EXPECT_EQ(Lathe({"pipeline", "run", kDags + "/crash.yaml", "--date", "2026-11-03"}).exit_code, 0);
  EXPECT_EQ(Effects().size(), 3u);
}

TEST_P(PipelineCli, SchedulerCatchesUpMissedIntervalsAfterARestart) {
  auto sched = [&](const std::string& now) {
    return Lathe({"scheduler", "--dags", kDags + "/sched", "--once", "--now", now});
  };
  RunResult first = sched("2026-11-04T00:30:00Z");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto effects = Effects();
  EXPECT_EQ(Count(effects, "daily 2026-11-01"), 1u);
  EXPECT_EQ(Count(effects, "daily 2026-11-02"), 1u);
  EXPECT_EQ(Count(effects, "daily 2026-11-03"), 1u);
  EXPECT_EQ(Count(effects, "daily 2026-11-04"), 0u);  // its interval has not ended
  // catchup: false runs only the latest ended interval (06:00 11-02 .. 06:00 11-03).
  EXPECT_EQ(Count(effects, "latest 2026-11-02"), 1u);
  EXPECT_EQ(Count(effects, "latest 2026-11-01"), 0u);
  EXPECT_EQ(Count(effects, "manual"), 0u);
  // The same instant again: nothing new.
  ASSERT_EQ(sched("2026-11-04T00:40:00Z").exit_code, 0);
  EXPECT_EQ(Effects().size(), effects.size());
  // Three days later: the missed intervals run once each.
  ASSERT_EQ(sched("2026-11-07T12:00:00Z").exit_code, 0);
  effects = Effects();
  for (const char* ds : {"2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06"})
    EXPECT_EQ(Count(effects, std::string("daily ") + ds), 1u) << ds;
  EXPECT_EQ(Count(effects, "daily 2026-11-07"), 0u);
  EXPECT_EQ(Count(effects, "latest 2026-11-06"), 1u);
  EXPECT_EQ(Count(effects, "latest 2026-11-04"), 0u);
  json runs = Json({"pipeline", "status", "daily"});
  ASSERT_EQ(runs.size(), 6u);
  for (const json& r : runs) {
    EXPECT_EQ(r["kind"], "scheduled");
    EXPECT_EQ(r["state"], "success");
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, PipelineCli, ::testing::Values("sqlite", "postgres"));

// The rest on SQLite only: the state store is the same code on both.
class PipelineSqlite : public PipelineCli {};

TEST_P(PipelineSqlite, RetriesWithBackoffRecordEveryTry) {
  RunResult r = Lathe({"pipeline", "run", kDags + "/retry.yaml", "--date", "2026-11-03"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Effects(), (std::vector<std::string>{"try 1", "try 2", "try 3", "after"}));
  auto all = Tries("retry@2026-11-03");
  auto tries = all["flaky"];
  ASSERT_EQ(tries.size(), 3u);
  EXPECT_EQ(tries[0]["state"], "failed");
  EXPECT_EQ(tries[0]["exit_reason"], "command exited with status 1");
  EXPECT_EQ(tries[1]["state"], "failed");
  EXPECT_EQ(tries[2]["state"], "success");
  // 200 ms before the second try, 400 ms before the third.
  EXPECT_GE(tries[1]["started_ms"].get<int64_t>() - tries[0]["ended_ms"].get<int64_t>(), 200);
  EXPECT_GE(tries[2]["started_ms"].get<int64_t>() - tries[1]["ended_ms"].get<int64_t>(), 400);
  json status = Json({"pipeline", "status", "retry"});
  EXPECT_EQ(status[0]["tasks"]["flaky"]["tries"], 3);
}

TEST_P(PipelineSqlite, TimeoutAndFailureStopDownstreamAndCallTheWebhook) {
  WebhookReceiver hook;
  ASSERT_TRUE(hook.ok());
  std::string yaml = ReadAll(kDags + "/failure.yaml");
  const std::string placeholder = "http://127.0.0.1:1/on-failure";
  yaml.replace(yaml.find(placeholder), placeholder.size(), hook.url());
  WriteFile(dir_ / "failure.yaml", yaml);
  RunResult r = Lathe({"pipeline", "run", dir_ / "failure.yaml", "--date", "2026-11-03"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(Effects(), (std::vector<std::string>{"independent"}));
  auto tries = Tries("failure@2026-11-03");
  ASSERT_EQ(tries["sleepy"].size(), 1u);
  EXPECT_EQ(tries["sleepy"][0]["state"], "failed");
  EXPECT_EQ(tries["sleepy"][0]["exit_reason"], "timeout after 500ms: command killed at the task's timeout");
  EXPECT_EQ(tries["broken"][0]["exit_reason"], "command exited with status 4");
  EXPECT_NE(tries["broken"][0]["log"].get<std::string>().find("about to fail"), std::string::npos);
  EXPECT_EQ(tries.count("after_sleepy"), 0u);
  EXPECT_EQ(tries.count("last"), 0u);
  json status = Json({"pipeline", "status", "failure"});
  EXPECT_EQ(status[0]["state"], "failed");
  EXPECT_EQ(status[0]["tasks"]["after_sleepy"]["state"], "upstream_failed");
  EXPECT_EQ(status[0]["tasks"]["after_broken"]["state"], "upstream_failed");
  EXPECT_EQ(status[0]["tasks"]["last"]["state"], "upstream_failed");
  EXPECT_EQ(status[0]["tasks"]["independent"]["state"], "success");
  auto bodies = hook.bodies();
  ASSERT_EQ(bodies.size(), 2u);
  std::set<std::string> failed;
  for (const json& b : bodies) {
    EXPECT_EQ(b["run_id"], "failure@2026-11-03");
    EXPECT_EQ(b["ds"], "2026-11-03");
    EXPECT_FALSE(b["reason"].get<std::string>().empty());
    failed.insert(b["task_id"]);
  }
  EXPECT_EQ(failed, (std::set<std::string>{"sleepy", "broken"}));
}

TEST_P(PipelineSqlite, RerunIsANoOpAndForceRunsAgain) {
  const std::string dag = kDags + "/chain.yaml";
  ASSERT_EQ(Lathe({"pipeline", "run", dag, "--date", "2026-11-03"}).exit_code, 0);
  ASSERT_EQ(Lathe({"pipeline", "run", dag, "--date", "2026-11-03"}).exit_code, 0);
  EXPECT_EQ(Effects().size(), 3u);
  RunResult skip = Lathe({"task", "run", dag, "b", "--date", "2026-11-03"});
  EXPECT_EQ(skip.exit_code, 0);
  EXPECT_NE(skip.out.find("skipped, already succeeded"), std::string::npos) << skip.out;
  EXPECT_EQ(Effects().size(), 3u);
  RunResult forced_task = Lathe({"task", "run", dag, "b", "--date", "2026-11-03", "--force"});
  EXPECT_EQ(forced_task.exit_code, 0) << forced_task.err;
  EXPECT_EQ(Count(Effects(), "b 2026-11-03"), 2u);
  ASSERT_EQ(Lathe({"pipeline", "run", dag, "--date", "2026-11-03", "--force"}).exit_code, 0);
  auto effects = Effects();
  EXPECT_EQ(Count(effects, "a 2026-11-03"), 2u);
  EXPECT_EQ(Count(effects, "b 2026-11-03"), 3u);
  EXPECT_EQ(Count(effects, "c 2026-11-03"), 2u);
  EXPECT_EQ(Tries("chain@2026-11-03")["b"].size(), 3u);
}

TEST_P(PipelineSqlite, TaskRunAloneKeepsTheSameRecords) {
  const std::string dag = kDags + "/chain.yaml";
  RunResult early = Lathe({"task", "run", dag, "b", "--date", "2026-11-05"});
  EXPECT_EQ(early.exit_code, 1);
  EXPECT_NE(early.err.find("upstream task 'a' has not succeeded (never ran)"), std::string::npos) << early.err;
  for (const char* t : {"a", "b", "c"}) {
    RunResult r = Lathe({"task", "run", dag, t, "--date", "2026-11-05", "--json"});
    ASSERT_EQ(r.exit_code, 0) << t << r.out << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["state"], "success");
    EXPECT_EQ(j["try_number"], 1);
  }
  json status = Json({"pipeline", "status", "chain"});
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0]["run_id"], "chain@2026-11-05");
  EXPECT_EQ(status[0]["state"], "success");
  EXPECT_EQ(status[0]["kind"], "external");
  RunResult logs = Lathe({"pipeline", "logs", "chain@2026-11-05", "b"});
  EXPECT_EQ(logs.exit_code, 0);
  EXPECT_NE(logs.out.find("== b try 1: success"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("$ echo \"b-start 2026-11-05"), std::string::npos) << logs.out;
}

TEST_P(PipelineSqlite, SevenDayBackfillRespectsMaxActiveRuns) {
  RunResult r = Lathe({"pipeline", "backfill", kDags + "/chain.yaml", "--from", "2026-11-01", "--to", "2026-11-07"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto effects = Effects();
  EXPECT_EQ(effects.size(), 21u);
  for (int d = 1; d <= 7; ++d)
    for (const char* t : {"a", "b", "c"})
      EXPECT_EQ(Count(effects, std::string(t) + " 2026-11-0" + std::to_string(d)), 1u) << t << d;
  json runs = Json({"pipeline", "status", "chain"});
  ASSERT_EQ(runs.size(), 7u);
  // chain.yaml allows 2 active runs: at no instant were more than 2 b tries running.
  std::vector<std::pair<int64_t, int>> edges;
  for (const json& run : runs) {
    EXPECT_EQ(run["state"], "success");
    EXPECT_EQ(run["kind"], "backfill");
    auto tries = Tries(run["run_id"].get<std::string>());
    for (const json& t : tries["b"]) {
      edges.push_back({t["started_ms"], 1});
      edges.push_back({t["ended_ms"], -1});
    }
  }
  std::sort(edges.begin(), edges.end());
  int active = 0, peak = 0;
  for (auto& [t, d] : edges) peak = std::max(peak, active += d);
  EXPECT_LE(peak, 2);
  EXPECT_GE(peak, 1);
}

TEST_P(PipelineSqlite, SigtermStopsTheSchedulerCleanlyAndResumeFinishes) {
  Child sched(LatheArgv({"scheduler", "--dags", kDags + "/slow", "--tick", "100ms", "--now", "2026-11-02T00:30:00Z"}));
  std::string line;
  bool started = false;
  while (sched.ReadLine(&line))
    if (line.find("task first try 1 started") != std::string::npos) {
      started = true;
      break;
    }
  ASSERT_TRUE(started);
  sched.Signal(SIGTERM);
  std::string rest;
  while (sched.ReadLine(&line)) rest += line + "\n";
  EXPECT_EQ(sched.Wait(), 0) << rest;
  EXPECT_NE(rest.find("scheduler: stopped"), std::string::npos) << rest;
  // The running try finished and was recorded; nothing after it started.
  EXPECT_EQ(Effects(), (std::vector<std::string>{"first 2026-11-01"}));
  json status = Json({"pipeline", "status", "slow"});
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0]["state"], "running");
  EXPECT_EQ(status[0]["tasks"]["first"]["state"], "success");
  // A restarted scheduler continues the run it left (and starts nothing new at this instant).
  RunResult again = Lathe({"scheduler", "--dags", kDags + "/slow", "--once", "--now", "2026-11-02T00:40:00Z"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Effects(), (std::vector<std::string>{"first 2026-11-01", "second 2026-11-01"}));
  EXPECT_EQ(Json({"pipeline", "status", "slow"})[0]["state"], "success");
}

TEST_P(PipelineSqlite, ACrashedTaskProcessIsRecordedAndRetriedWithoutHarmingTheExecutor) {
  RunResult r = Lathe({"pipeline", "run", kDags + "/crashy.yaml", "--date", "2026-11-03"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto tries = Tries("crashy@2026-11-03");
  ASSERT_EQ(tries["crash"].size(), 2u);
  for (const json& t : tries["crash"]) {
    EXPECT_EQ(t["state"], "failed");
    EXPECT_EQ(t["exit_reason"], "the task process killed by signal 9 before recording a result");
  }
  EXPECT_EQ(tries.count("never"), 0u);
  EXPECT_EQ(Json({"pipeline", "status", "crashy"})[0]["tasks"]["never"]["state"], "upstream_failed");
}

TEST_P(PipelineSqlite, ResumeWithADagFileBrokenSinceIsAClearError) {
  // resume reloads the DAG from the file the run was made from.
  std::string yaml = ReadAll(kDags + "/chain.yaml");
  WriteFile(dir_ / "chain.yaml", yaml);
  Child run(LatheArgv({"pipeline", "run", dir_ / "chain.yaml", "--date", "2026-11-03"}));
  std::string line;
  while (run.ReadLine(&line))
    if (line.find("task b try 1 started") != std::string::npos) break;
  run.Kill9();
  WriteFile(dir_ / "chain.yaml", yaml + "  d: {operator: nosuch}\n");
  RunResult r = Lathe({"pipeline", "resume", "chain@2026-11-03"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("task 'd': key 'operator': unknown operator 'nosuch'"), std::string::npos) << r.err;
}

TEST_P(PipelineSqlite, SigtermStopsAStandaloneTaskAndRecordsWhy) {
  Child task(LatheArgv({"task", "run", kDags + "/sigterm.yaml", "slow", "--date", "2026-11-03"}));
  for (int i = 0; i < 500 && !std::filesystem::exists(dir_ / "data/slow.started"); ++i) usleep(10000);
  ASSERT_TRUE(std::filesystem::exists(dir_ / "data/slow.started"));
  task.Signal(SIGTERM);
  std::string line, err;
  while (task.ReadLine(&line)) err += line + "\n";
  EXPECT_EQ(task.Wait(), 1) << err;
  auto all = Tries("sigterm@2026-11-03");
  auto tries = all["slow"];
  ASSERT_EQ(tries.size(), 1u);
  EXPECT_EQ(tries[0]["state"], "failed");
  EXPECT_EQ(tries[0]["exit_reason"], "cancelled (SIGTERM): command killed: the try was cancelled");
  EXPECT_TRUE(Effects().empty());
  EXPECT_EQ(Json({"pipeline", "status", "sigterm"})[0]["state"], "failed");
}

TEST_P(PipelineSqlite, BadInputsAreClearErrors) {
  WriteFile(dir_ / "bad.yaml", "dag: bad\ntasks:\n  a: {operator: shell, depends_on: [b], params: {command: x}}\n");
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const Case cases[] = {
      {{"pipeline", "run", "nosuch", "--dags", kDags, "--date", "2026-11-01"}, 2, "dag 'nosuch': no such DAG in"},
      {{"pipeline", "run", kDags + "/chain.yaml", "--date", "2026-11-31"}, 2, "--date: date '2026-11-31'"},
      {{"pipeline", "run", dir_ / "bad.yaml", "--date", "2026-11-01"}, 2, "task 'a': key 'depends_on': unknown task 'b'"},
      {{"pipeline", "run", dir_ / "missing.yaml", "--date", "2026-11-01"}, 2, "cannot read DAG file"},
      {{"pipeline", "backfill", kDags + "/chain.yaml", "--from", "2026-11-05", "--to", "2026-11-01"}, 2,
       "--to 2026-11-01 is before --from 2026-11-05"},
      {{"pipeline", "resume", "chain@1999-01-01"}, 2, "run chain@1999-01-01: no such run"},
      {{"pipeline", "logs", "chain@1999-01-01"}, 2, "no such run"},
      {{"task", "run", kDags + "/chain.yaml", "z", "--date", "2026-11-01"}, 2, "has no task 'z' (tasks: a, b, c)"},
      {{"scheduler", "--dags", dir_ / "nowhere"}, 2, "no such DAG folder"},
      {{"scheduler", "--dags", kDags + "/sched", "--now", "yesterday"}, 2, "--now 'yesterday'"},
      {{"scheduler", "--dags", kDags + "/sched", "--tick", "often"}, 2, "--tick: duration 'often'"},
  };
  for (const Case& c : cases) {
    RunResult r = Lathe(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args[1] << " " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args[1] << ": " << r.err;
  }
}

INSTANTIATE_TEST_SUITE_P(Sqlite, PipelineSqlite, ::testing::Values("sqlite"));

}  // namespace
}  // namespace lathe::test
