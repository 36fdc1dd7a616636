#include "pipeline/dag_spec.h"

#include <gtest/gtest.h>

#include "pipeline/scheduler.h"
#include "pipeline/template.h"
#include "test_util.h"

namespace lathe::pipeline {
namespace {

OperatorRegistry Registry() {
  OperatorRegistry r;
  RegisterBuiltinOperators(&r);
  return r;
}

TEST(DagSpec, ParsesEveryKeyAndOrdersTasks) {
  const char* yaml = R"(
dag: example
description: all keys
schedule: "30 2 * * *"
start_date: 2026-11-01
catchup: true
max_active_runs: 2
max_active_tasks: 3
on_failure: http://127.0.0.1:9/hook
default_args:
  retries: 2
  retry_delay: 30s
  retry_backoff: 3
  max_retry_delay: 2m
  timeout: 1h
tasks:
  report:
    operator: webhook
    depends_on: [left, right]
    retries: 0
    params: {url: "http://127.0.0.1:9/{{ ds_nodash }}"}
  left:
    operator: shell
    depends_on: start
    params: {command: "echo {{ ds_minus_1 }}", env: {N: "3"}}
  right:
    operator: shell
    depends_on: [start]
    timeout: 250ms
    params: {command: "true"}
  start:
    operator: shell
    params: {command: "echo {{ ds }}"}
)";
  auto dag = ParseDag(yaml, Registry());
  ASSERT_TRUE(dag.ok()) << dag.status().ToString();
  EXPECT_EQ(dag->id, "example");
  EXPECT_EQ(dag->schedule->text(), "30 2 * * *");
  EXPECT_EQ(dag->start_date, "2026-11-01");
  EXPECT_TRUE(dag->catchup);
  EXPECT_EQ(dag->max_active_runs, 2);
  EXPECT_EQ(dag->max_active_tasks, 3);
  EXPECT_EQ(dag->on_failure, "http://127.0.0.1:9/hook");
  ASSERT_EQ(dag->tasks.size(), 4u);
  EXPECT_EQ(dag->tasks.front().id, "start");
  EXPECT_EQ(dag->tasks.back().id, "report");
  const TaskSpec* left = dag->Task("left");
  ASSERT_NE(left, nullptr);
  EXPECT_EQ(left->retries, 2);
  EXPECT_EQ(left->retry_delay, std::chrono::seconds(30));
  EXPECT_EQ(left->timeout, std::chrono::hours(1));
  EXPECT_EQ(left->params["command"], "echo {{ ds_minus_1 }}");  // templated per run, not at load
  EXPECT_EQ(dag->Task("right")->timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(dag->Task("report")->retries, 0);
  // Backoff: 30 s, 90 s, then capped at 2 min.
  EXPECT_EQ(left->DelayBefore(2), std::chrono::seconds(30));
  EXPECT_EQ(left->DelayBefore(3), std::chrono::seconds(90));
  EXPECT_EQ(left->DelayBefore(4), std::chrono::minutes(2));
  auto down = dag->Downstream("start");
  EXPECT_EQ(down.size(), 2u);
}

TEST(DagSpec, ShippedFraudDailyParsesWithTheMlOperatorNames) {
  OperatorRegistry r = Registry();
  for (const char* name : {"extract", "validate", "features", "train", "evaluate", "promote", "deploy"})
    r.Register(name, [](TaskContext&) -> Result<nlohmann::json> { return nlohmann::json::object(); });
  auto dag = LoadDagFile(std::string(LATHE_SOURCE_DIR) + "/pipelines/fraud-daily.yaml", r);
  ASSERT_TRUE(dag.ok()) << dag.status().ToString();
  std::vector<std::string> order;
  for (const TaskSpec& t : dag->tasks) order.push_back(t.id);
  EXPECT_EQ(order, (std::vector<std::string>{"extract", "validate", "features", "train", "evaluate", "promote", "deploy"}));
  // The seven ML operators are not built in: without them the DAG is refused by name.
  auto missing = LoadDagFile(std::string(LATHE_SOURCE_DIR) + "/pipelines/fraud-daily.yaml", Registry());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("unknown operator 'extract'"), std::string::npos);
}

TEST(DagSpec, BadDagsNameTheTaskKeyAndReason) {
  const std::string head = "dag: bad\n";
  const std::string ok_task = "tasks:\n  a: {operator: shell, params: {command: 'true'}}\n";
  const std::pair<std::string, std::string> cases[] = {
      {"dag: [x\n", "not valid YAML"},
      {"dag: bad\n? [x, y]\n: 1\n" + ok_task, "bad conversion"},
      {head + "tasks:\n  ? {a: 1}\n  : {operator: shell}\n", "bad conversion"},
      {"- a\n- b\n", "the DAG must be a mapping"},
      {ok_task, "key 'dag' (the DAG id) is missing"},
      {"dag: 'a b'\n" + ok_task, "'a b' is not an id"},
      {head + "owner: me\n" + ok_task, "unknown key 'owner'"},
      {head, "key 'tasks' must be a mapping"},
      {head + "tasks: {}\n", "at least one task"},
      {head + "schedule: '61 * * * *'\nstart_date: 2026-01-01\n" + ok_task, "key 'schedule': cron '61 * * * *': minute field"},
      {head + "schedule: '@daily'\n" + ok_task, "key 'start_date' is required with a schedule"},
      {head + "start_date: 2026-13-01\n" + ok_task, "key 'start_date': date '2026-13-01'"},
      {head + "catchup: maybe\n" + ok_task, "key 'catchup' must be true or false"},
      {head + "max_active_runs: 0\n" + ok_task, "key 'max_active_runs' must be a whole number from 1 to 64"},
      {head + "max_active_tasks: two\n" + ok_task, "key 'max_active_tasks' must be a whole number"},
      {head + "on_failure: ftp://x\n" + ok_task, "key 'on_failure': 'ftp://x' is not an http"},
      {head + "default_args: {retries: -1}\n" + ok_task, "default_args: key 'retries' must be a whole number from 0 to 100"},
      {head + "default_args: {retry_delay: 5}\n" + ok_task, "default_args: key 'retry_delay': duration '5'"},
      {head + "default_args: {timeout: 1w}\n" + ok_task, "default_args: key 'timeout': duration '1w'"},
      {head + "default_args: {retry_backoff: 0.5}\n" + ok_task, "key 'retry_backoff' must be a number from 1"},
      {head + "default_args: {pool: x}\n" + ok_task, "key 'default_args': unknown key 'pool'"},
      {head + "tasks:\n  a: {params: {command: x}}\n", "task 'a': key 'operator' is missing"},
      {head + "tasks:\n  a: {operator: spark}\n", "task 'a': key 'operator': unknown operator 'spark' (known: shell, webhook)"},
      {head + "tasks:\n  a: {operator: shell, params: {command: x}, priority: 1}\n", "task 'a': unknown key 'priority'"},
      {head + "tasks:\n  'a/b': {operator: shell, params: {command: x}}\n", "task 'a/b': not an id"},
      {head + "tasks:\n  a: {operator: shell, depends_on: [z], params: {command: x}}\n",
       "task 'a': key 'depends_on': unknown task 'z'"},
      {head + "tasks:\n  a: {operator: shell, depends_on: a, params: {command: x}}\n", "a task cannot depend on itself"},
      {head + "tasks:\n  a: {operator: shell, depends_on: [{x: 1}], params: {command: x}}\n", "must list task ids"},
      {head + "tasks:\n  a: {operator: shell, depends_on: c, params: {command: x}}\n"
              "  b: {operator: shell, depends_on: a, params: {command: x}}\n"
              "  c: {operator: shell, depends_on: b, params: {command: x}}\n"
              "  d: {operator: shell, params: {command: x}}\n",
       "tasks form a dependency cycle: a, b, c"},
      {head + "tasks:\n  a: {operator: shell, timeout: soon, params: {command: x}}\n", "task 'a': key 'timeout': duration 'soon'"},
      {head + "tasks:\n  a: {operator: shell, retries: 1000, params: {command: x}}\n", "task 'a': key 'retries'"},
      {head + "tasks:\n  a: {operator: shell, params: {command: 'echo {{ ds_minus_q }}'}}\n",
       "task 'a': key 'params': command: template variable 'ds_minus_q'"},
      {head + "tasks:\n  a: {operator: shell, params: {command: 'echo {{ tomorrow }}'}}\n",
       "task 'a': key 'params': command: unknown template variable 'tomorrow'"},
      {head + "tasks:\n  a: {operator: shell, params: {command: 'echo {{ ds'}}\n", "unclosed '{{'"},
      {head + "tasks:\n  a: {operator: shell, params: [1]}\n", "task 'a': key 'params' must be a mapping"},
      {head + "tasks:\n  a: {operator: shell}\n", "task 'a': operator 'shell': param 'command'"},
      {head + "tasks:\n  a: {operator: shell, params: {command: x, shell: bash}}\n", "operator 'shell': unknown param 'shell'"},
      {head + "tasks:\n  a: {operator: shell, params: {command: x, env: {N: 3}}}\n", "param 'env': 'N' must be a string"},
      {head + "tasks:\n  a: {operator: webhook, params: {url: 'not a url'}}\n", "operator 'webhook': param 'url'"},
      {head + "tasks:\n  a: {operator: webhook, params: {url: 'http://x/', timeout: 3}}\n", "param 'timeout' must be a duration"},
  };
  for (const auto& [yaml, message] : cases) {
    auto dag = ParseDag(yaml, Registry(), "bad.yaml");
    ASSERT_FALSE(dag.ok()) << yaml;
    EXPECT_EQ(dag.status().code(), StatusCode::kInvalidArgument) << yaml;
    EXPECT_NE(dag.status().message().find(message), std::string::npos) << yaml << "\n -> " << dag.status().message();
    EXPECT_EQ(dag.status().message().rfind("bad.yaml: ", 0), 0u) << dag.status().message();
  }
}

TEST(DagSpec, FindsDagsByPathOrIdInAFolder) {
  test::TempDir dir;
  test::WriteFile(dir / "one.yaml", "dag: one\ntasks:\n  a: {operator: shell, params: {command: 'true'}}\n");
  test::WriteFile(dir / "other-name.yml", "dag: two\ntasks:\n  a: {operator: shell, params: {command: 'true'}}\n");
  OperatorRegistry r = Registry();
  EXPECT_EQ(FindDag("one", dir.path(), r)->id, "one");
  EXPECT_EQ(FindDag("two", dir.path(), r)->id, "two");
  EXPECT_EQ(FindDag(dir / "one.yaml", "/nonexistent", r)->id, "one");
  auto missing = FindDag("three", dir.path(), r);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("no such DAG"), std::string::npos);
  EXPECT_EQ(LoadDagDir(dir.path(), r)->size(), 2u);
  test::WriteFile(dir / "dup.yaml", "dag: one\ntasks:\n  a: {operator: shell, params: {command: 'true'}}\n");
  EXPECT_NE(LoadDagDir(dir.path(), r).status().message().find("defined by another file"), std::string::npos);
}

DagSpec Scheduled(const std::string& cron, bool catchup) {
  std::string yaml = "dag: s\nschedule: '" + cron + "'\nstart_date: 2026-11-01\ncatchup: " +
                     (catchup ? "true" : "false") + "\ntasks:\n  a: {operator: shell, params: {command: 'true'}}\n";
  auto dag = ParseDag(yaml, Registry());
  EXPECT_TRUE(dag.ok()) << dag.status().ToString();
  return *dag;
}

int64_t At(const std::string& day, int h = 0, int m = 0) { return *ParseDate(day) + h * 3600 + m * 60; }

TEST(Scheduler, DueDatesAreEndedIntervalsAfterTheLastScheduledRun) {
  DagSpec daily = Scheduled("0 0 * * *", true);
  // The run for 11-03 is due once its interval ends, at 11-04 00:00.
  EXPECT_EQ(DueDates(daily, "", At("2026-11-03", 23, 59)), (std::vector<std::string>{"2026-11-01", "2026-11-02"}));
  EXPECT_EQ(DueDates(daily, "", At("2026-11-04")),
            (std::vector<std::string>{"2026-11-01", "2026-11-02", "2026-11-03"}));
  EXPECT_EQ(DueDates(daily, "2026-11-02", At("2026-11-05", 1)), (std::vector<std::string>{"2026-11-03", "2026-11-04"}));
  EXPECT_TRUE(DueDates(daily, "2026-11-04", At("2026-11-05", 1)).empty());
  EXPECT_TRUE(DueDates(daily, "", At("2026-10-20")).empty());  // before start_date
  EXPECT_EQ(DueDates(daily, "", At("2026-12-01"), 5).size(), 5u);
  // catchup: false: only the latest ended interval.
  DagSpec latest = Scheduled("0 6 * * *", false);
  EXPECT_EQ(DueDates(latest, "", At("2026-11-09", 7)), (std::vector<std::string>{"2026-11-08"}));
  EXPECT_EQ(DueDates(latest, "", At("2026-11-09", 5)), (std::vector<std::string>{"2026-11-07"}));
  // Several firings a day are one run per date.
  DagSpec hourly = Scheduled("@hourly", true);
  EXPECT_EQ(DueDates(hourly, "", At("2026-11-02", 12)), (std::vector<std::string>{"2026-11-01", "2026-11-02"}));
  EXPECT_EQ(DueDates(hourly, "2026-11-01", At("2026-11-02", 12)), (std::vector<std::string>{"2026-11-02"}));
  // Weekly: the Sunday interval ends the next Sunday.
  DagSpec weekly = Scheduled("0 0 * * 0", true);
  EXPECT_EQ(DueDates(weekly, "", At("2026-11-16")), (std::vector<std::string>{"2026-11-01", "2026-11-08"}));
  DagSpec manual = *ParseDag("dag: m\ntasks:\n  a: {operator: shell, params: {command: 'true'}}\n", Registry());
  EXPECT_TRUE(DueDates(manual, "", At("2030-01-01")).empty());
}

}  // namespace
}  // namespace lathe::pipeline
