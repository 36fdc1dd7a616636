// The state tables on SQLite and PostgreSQL, and one try run in-process
// (RunTaskTry) against each.
#include "pipeline/state_store.h"

#include <gtest/gtest.h>

#include "db_fixture.h"
#include "pipeline/dag_spec.h"
#include "pipeline/task_runner.h"

namespace lathe::pipeline {
namespace {

using StateStoreTest = test::EngineTest;

TEST_P(StateStoreTest, RunsAreOnePerDagAndDay) {
  StateStore s(db_.get());
  bool created = false;
  auto a = s.GetOrCreateRun("d", "2026-11-01", "scheduled", "/p.yaml", &created);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(created);
  EXPECT_EQ(a->run_id, "d@2026-11-01");
  EXPECT_EQ(a->state, "queued");
  auto again = s.GetOrCreateRun("d", "2026-11-01", "backfill", "/p.yaml", &created);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(again->kind, "scheduled");
  ASSERT_TRUE(s.GetOrCreateRun("d", "2026-11-03", "backfill", "/p.yaml").ok());
  ASSERT_TRUE(s.GetOrCreateRun("e", "2026-11-02", "scheduled", "/q.yaml").ok());
  EXPECT_EQ(*s.LastScheduledDs("d"), std::optional<std::string>("2026-11-01"));
  EXPECT_EQ(*s.LastScheduledDs("x"), std::nullopt);
  auto runs = s.ListRuns("d");
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].ds, "2026-11-03");
  EXPECT_EQ(s.ListRuns("")->size(), 3u);
  EXPECT_EQ(*s.ActiveRuns("d"), 2);
  ASSERT_TRUE(s.SetRunState("d@2026-11-01", "running").ok());
  ASSERT_TRUE(s.SetRunState("d@2026-11-01", "success").ok());
  auto done = s.GetRun("d@2026-11-01");
  EXPECT_EQ((*done)->state, "success");
  EXPECT_GT((*done)->started_at, 0);
  EXPECT_GE((*done)->ended_at, (*done)->started_at);
  EXPECT_EQ(*s.ActiveRuns("d"), 1);
  // Ownership is a compare-and-swap on the owner pid, with this host recorded.
  EXPECT_TRUE(*s.ClaimRun("d@2026-11-03", 0, 111));
  EXPECT_FALSE(*s.ClaimRun("d@2026-11-03", 0, 222));
  EXPECT_TRUE(*s.ClaimRun("d@2026-11-03", 111, 222));
  auto owned = s.GetRun("d@2026-11-03");
  EXPECT_EQ((*owned)->owner_pid, 222);
  EXPECT_EQ((*owned)->owner_host, ThisHost());
  ASSERT_TRUE(s.SetRunOwner("d@2026-11-03", 0).ok());
  EXPECT_EQ((*s.GetRun("d@2026-11-03"))->owner_host, "");
  EXPECT_EQ(s.SetRunState("nope@2026-01-01", "running").code(), StatusCode::kNotFound);
  EXPECT_EQ(*s.GetRun("nope"), std::nullopt);
}

TEST_P(StateStoreTest, TriesAreNumberedAndEndOnce) {
  StateStore s(db_.get());
  ASSERT_TRUE(s.GetOrCreateRun("d", "2026-11-01", "external", "/p.yaml").ok());
  TryRecord t;
  t.run_id = "d@2026-11-01";
  t.task_id = "a";
  t.try_number = 1;
  t.pid = 42;
  t.log_path = "/logs/1";
  ASSERT_TRUE(s.BeginTry(t).ok());
  EXPECT_EQ(s.BeginTry(t).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*s.LastTryNumber(t.run_id, "a"), 1);
  EXPECT_EQ(*s.LastTryNumber(t.run_id, "b"), 0);
  EXPECT_TRUE(*s.EndTry(t.run_id, "a", 1, "failed", "boom", "log text", ""));
  EXPECT_FALSE(*s.EndTry(t.run_id, "a", 1, "success", "", "", "{}"));  // already ended
  t.try_number = 2;
  ASSERT_TRUE(s.BeginTry(t).ok());
  EXPECT_TRUE(*s.EndTry(t.run_id, "a", 2, "success", "", "", R"({"rows":3})"));
  auto tries = s.Tries(t.run_id, "a");
  ASSERT_EQ(tries->size(), 2u);
  EXPECT_EQ((*tries)[0].state, "failed");
  EXPECT_EQ((*tries)[0].exit_reason, "boom");
  EXPECT_EQ((*tries)[0].log_text, "log text");
  EXPECT_EQ((*tries)[0].pid, 42);
  EXPECT_EQ((*tries)[1].outputs, R"({"rows":3})");
  EXPECT_EQ(**s.SuccessOutputs(t.run_id, "a"), R"({"rows":3})");
  EXPECT_EQ(*s.SuccessOutputs(t.run_id, "b"), std::nullopt);

  ASSERT_TRUE(s.SetTaskState(t.run_id, "a", "running", 2).ok());
  ASSERT_TRUE(s.SetTaskState(t.run_id, "a", "success").ok());
  auto ti = s.GetTaskInstance(t.run_id, "a");
  EXPECT_EQ((*ti)->state, "success");
  EXPECT_EQ((*ti)->tries, 2);
  ASSERT_TRUE(s.ResetTasks(t.run_id).ok());
  EXPECT_EQ(*s.GetTaskInstance(t.run_id, "a"), std::nullopt);
  EXPECT_EQ(s.Tries(t.run_id)->size(), 2u);  // history stays
}

TEST_P(StateStoreTest, OneTryInProcessRecordsEverythingAndIsANoOpOnceDone) {
  OperatorRegistry r;
  RegisterBuiltinOperators(&r);
  int calls = 0;
  r.Register("count", [&](TaskContext& ctx) -> Result<nlohmann::json> {
    ++calls;
    ctx.Log("upstream rows " + ctx.upstream_outputs["first"].value("rows", std::string("?")));
    return nlohmann::json{{"seen", ctx.upstream_outputs["first"]}, {"day", ctx.Param<std::string>("day", "")}};
  });
  auto dag = ParseDag(R"(
dag: d
tasks:
  first: {operator: shell, params: {command: "echo '{\"rows\": \"7\"}' > $LATHE_OUTPUTS"}}
  second: {operator: count, depends_on: first, params: {day: "{{ ds_plus_1 }}"}}
)", r);
  ASSERT_TRUE(dag.ok()) << dag.status().ToString();
  TryOptions o;
  o.data_dir = dir_.path();
  o.db_url = url_;
  // Upstream first: the second task refuses to start before it.
  auto early = RunTaskTry(*dag, "second", "2026-11-03", r, db_.get(), o);
  EXPECT_EQ(early.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(early.status().message().find("upstream task 'first' has not succeeded"), std::string::npos);
  auto first = RunTaskTry(*dag, "first", "2026-11-03", r, db_.get(), o);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->state, "success");
  auto second = RunTaskTry(*dag, "second", "2026-11-03", r, db_.get(), o);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->state, "success");
  EXPECT_EQ(calls, 1);
  StateStore s(db_.get());
  auto out = s.SuccessOutputs("d@2026-11-03", "second");
  auto j = nlohmann::json::parse(**out);
  EXPECT_EQ(j["seen"]["rows"], "7");
  EXPECT_EQ(j["day"], "2026-11-04");
  EXPECT_EQ((*s.GetRun("d@2026-11-03"))->state, "success");
  auto tries = s.Tries("d@2026-11-03", "second");
  ASSERT_EQ(tries->size(), 1u);
  EXPECT_NE((*tries)[0].log_text.find("upstream rows 7"), std::string::npos) << (*tries)[0].log_text;
  EXPECT_EQ(test::ReadAll((*tries)[0].log_path), (*tries)[0].log_text);
  // Exactly once: again is a no-op, --force runs a second try.
  auto again = RunTaskTry(*dag, "second", "2026-11-03", r, db_.get(), o);
  EXPECT_TRUE(again->skipped);
  EXPECT_EQ(calls, 1);
  o.force = true;
  auto forced = RunTaskTry(*dag, "second", "2026-11-03", r, db_.get(), o);
  EXPECT_EQ(forced->try_number, 2);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(RunTaskTry(*dag, "third", "2026-11-03", r, db_.get(), o).status().code(), StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Engines, StateStoreTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace lathe::pipeline
