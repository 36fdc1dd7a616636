#include "pipeline/state_store.h"

#include <unistd.h>

#include <chrono>

namespace lathe::pipeline {
namespace {

using storage::DbRow;
using storage::DbValue;

constexpr const char* kRunColumns =
    "run_id, dag_id, ds, kind, state, created_at, started_at, ended_at, owner_pid, dag_path, owner_host";
constexpr const char* kTryColumns =
    "run_id, task_id, try_number, state, started_at, ended_at, exit_reason, pid, log_path, log_text, outputs";

RunRecord ReadRun(const DbRow& r) {
  RunRecord x;
  x.run_id = r.Text(0);
  x.dag_id = r.Text(1);
  x.ds = r.Text(2);
  x.kind = r.Text(3);
  x.state = r.Text(4);
  x.created_at = r.Int(5);
  x.started_at = r.Int(6);
  x.ended_at = r.Int(7);
  x.owner_pid = r.Int(8);
  x.dag_path = r.Text(9);
  x.owner_host = r.Text(10);
  return x;
}

TryRecord ReadTry(const DbRow& r) {
  TryRecord t;
  t.run_id = r.Text(0);
  t.task_id = r.Text(1);
  t.try_number = r.Int(2);
  t.state = r.Text(3);
  t.started_at = r.Int(4);
  t.ended_at = r.Int(5);
  t.exit_reason = r.Text(6);
  t.pid = r.Int(7);
  t.log_path = r.Text(8);
  t.log_text = r.Text(9);
  t.outputs = r.Text(10);
  return t;
}

}  // namespace

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ThisHost() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

Result<RunRecord> StateStore::GetOrCreateRun(const std::string& dag_id, const std::string& ds, const std::string& kind,
                                             const std::string& dag_path, bool* created) {
  const std::string id = RunId(dag_id, ds);
  LATHE_ASSIGN_OR_RETURN(int64_t n,
                         db_->Execute("INSERT INTO pipeline_runs (run_id, dag_id, ds, kind, state, created_at, dag_path) "
                                      "VALUES ($1, $2, $3, $4, 'queued', $5, $6) ON CONFLICT DO NOTHING",
                                      {id, dag_id, ds, kind, NowMillis(), dag_path}));
  if (created) *created = n > 0;
  LATHE_ASSIGN_OR_RETURN(auto run, GetRun(id));
  if (!run) return Internal("run " + id + " vanished after it was created");
  return *run;
}

Result<std::optional<RunRecord>> StateStore::GetRun(const std::string& run_id) {
  std::optional<RunRecord> out;
  LATHE_RETURN_IF_ERROR(db_->Query(std::string("SELECT ") + kRunColumns + " FROM pipeline_runs WHERE run_id = $1",
                                   {run_id}, [&](const DbRow& r) {
                                     out = ReadRun(r);
                                     return Status::OK();
                                   }));
  return out;
}

Result<std::vector<RunRecord>> StateStore::ListRuns(const std::string& dag_id, int limit) {
  std::vector<RunRecord> out;
  std::string sql = std::string("SELECT ") + kRunColumns + " FROM pipeline_runs";
  std::vector<DbValue> params;
  if (!dag_id.empty()) {
    sql += " WHERE dag_id = $1";
    params.push_back(dag_id);
  }
  sql += " ORDER BY ds DESC, dag_id LIMIT " + std::to_string(limit);
  LATHE_RETURN_IF_ERROR(db_->Query(sql, params, [&](const DbRow& r) {
    out.push_back(ReadRun(r));
    return Status::OK();
  }));
  return out;
}

Status StateStore::SetRunState(const std::string& run_id, const std::string& state) {
  const int64_t now = NowMillis();
  std::string sql;
  if (state == "running")
    sql = "UPDATE pipeline_runs SET state = $2, started_at = COALESCE(started_at, $3), ended_at = NULL WHERE run_id = $1";
  else if (state == "success" || state == "failed")
    sql = "UPDATE pipeline_runs SET state = $2, ended_at = $3 WHERE run_id = $1";
  else
    sql = "UPDATE pipeline_runs SET state = $2, ended_at = NULL WHERE run_id = $1 AND $3 > 0";
  LATHE_ASSIGN_OR_RETURN(int64_t n, db_->Execute(sql, {run_id, state, now}));
  if (n == 0) return NotFound("run " + run_id + ": no such run");
  return Status::OK();
}

Status StateStore::SetRunOwner(const std::string& run_id, int64_t pid) {
  return db_
      ->Execute("UPDATE pipeline_runs SET owner_pid = $2, owner_host = $3 WHERE run_id = $1",
                {run_id, pid, pid ? ThisHost() : std::string()})
      .status();
}

Result<bool> StateStore::ClaimRun(const std::string& run_id, int64_t expected, int64_t pid) {
  LATHE_ASSIGN_OR_RETURN(int64_t n, db_->Execute("UPDATE pipeline_runs SET owner_pid = $3, owner_host = $4 WHERE "
                                                 "run_id = $1 AND COALESCE(owner_pid, 0) = $2",
                                                 {run_id, expected, pid, ThisHost()}));
  return n > 0;
}

Result<std::optional<std::string>> StateStore::LastScheduledDs(const std::string& dag_id) {
  std::optional<std::string> out;
  LATHE_RETURN_IF_ERROR(db_->Query(
      "SELECT ds FROM pipeline_runs WHERE dag_id = $1 AND kind = 'scheduled' ORDER BY ds DESC LIMIT 1", {dag_id},
      [&](const DbRow& r) {
        out = std::string(r.Text(0));
        return Status::OK();
      }));
  return out;
}

Result<int64_t> StateStore::ActiveRuns(const std::string& dag_id) {
  return db_->QueryInt("SELECT COUNT(*) FROM pipeline_runs WHERE dag_id = $1 AND state IN ('queued', 'running')",
                       {dag_id});
}

Result<std::vector<TaskInstanceRecord>> StateStore::TaskInstances(const std::string& run_id) {
  std::vector<TaskInstanceRecord> out;
  LATHE_RETURN_IF_ERROR(db_->Query(
      "SELECT run_id, task_id, state, tries, updated_at FROM pipeline_task_instances WHERE run_id = $1 ORDER BY task_id",
      {run_id}, [&](const DbRow& r) {
        out.push_back({std::string(r.Text(0)), std::string(r.Text(1)), std::string(r.Text(2)), r.Int(3), r.Int(4)});
        return Status::OK();
      }));
  return out;
}

Result<std::optional<TaskInstanceRecord>> StateStore::GetTaskInstance(const std::string& run_id,
                                                                      const std::string& task_id) {
  std::optional<TaskInstanceRecord> out;
  LATHE_RETURN_IF_ERROR(db_->Query(
      "SELECT run_id, task_id, state, tries, updated_at FROM pipeline_task_instances WHERE run_id = $1 AND task_id = $2",
      {run_id, task_id}, [&](const DbRow& r) {
        out = TaskInstanceRecord{std::string(r.Text(0)), std::string(r.Text(1)), std::string(r.Text(2)), r.Int(3),
                                 r.Int(4)};
        return Status::OK();
      }));
  return out;
}

Status StateStore::SetTaskState(const std::string& run_id, const std::string& task_id, const std::string& state,
                                int64_t tries) {
  return db_
      ->Execute(
          "INSERT INTO pipeline_task_instances (run_id, task_id, state, tries, updated_at) VALUES ($1, $2, $3, $4, $5) "
          "ON CONFLICT (run_id, task_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, "
          "tries = CASE WHEN $6 < 0 THEN pipeline_task_instances.tries ELSE excluded.tries END",
          {run_id, task_id, state, tries < 0 ? int64_t{0} : tries, NowMillis(), tries})
      .status();
}

Status StateStore::ResetTasks(const std::string& run_id) {
  return db_->Execute("DELETE FROM pipeline_task_instances WHERE run_id = $1", {run_id}).status();
}

Status StateStore::BeginTry(const TryRecord& t) {
  auto n = db_->Execute(
      "INSERT INTO pipeline_task_tries (run_id, task_id, try_number, state, started_at, exit_reason, pid, log_path) "
      "VALUES ($1, $2, $3, 'running', $4, '', $5, $6) ON CONFLICT DO NOTHING",
      {t.run_id, t.task_id, t.try_number, t.started_at ? t.started_at : NowMillis(), t.pid, t.log_path});
  if (!n.ok()) return n.status();
  if (*n == 0)
    return AlreadyExists("run " + t.run_id + " task " + t.task_id + ": try " + std::to_string(t.try_number) +
                         " already exists");
  return Status::OK();
}

Result<bool> StateStore::EndTry(const std::string& run_id, const std::string& task_id, int64_t try_number,
                                const std::string& state, const std::string& reason, const std::string& log_text,
                                const std::string& outputs) {
  LATHE_ASSIGN_OR_RETURN(
      int64_t n,
      db_->Execute("UPDATE pipeline_task_tries SET state = $4, ended_at = $5, exit_reason = $6, log_text = $7, "
                   "outputs = $8 WHERE run_id = $1 AND task_id = $2 AND try_number = $3 AND state = 'running'",
                   {run_id, task_id, try_number, state, NowMillis(), reason, log_text,
                    outputs.empty() ? DbValue{} : DbValue{outputs}}));
  return n > 0;
}

Result<std::vector<TryRecord>> StateStore::Tries(const std::string& run_id, const std::string& task_id) {
  std::vector<TryRecord> out;
  std::string sql = std::string("SELECT ") + kTryColumns + " FROM pipeline_task_tries WHERE run_id = $1";
  std::vector<DbValue> params{run_id};
  if (!task_id.empty()) {
    sql += " AND task_id = $2";
    params.push_back(task_id);
  }
  sql += " ORDER BY started_at, task_id, try_number";
  LATHE_RETURN_IF_ERROR(db_->Query(sql, params, [&](const DbRow& r) {
    out.push_back(ReadTry(r));
    return Status::OK();
  }));
  return out;
}

Result<int64_t> StateStore::LastTryNumber(const std::string& run_id, const std::string& task_id) {
  return db_->QueryInt("SELECT MAX(try_number) FROM pipeline_task_tries WHERE run_id = $1 AND task_id = $2",
                       {run_id, task_id});
}

Result<std::optional<std::string>> StateStore::SuccessOutputs(const std::string& run_id, const std::string& task_id) {
  std::optional<std::string> out;
  LATHE_RETURN_IF_ERROR(db_->Query(
      "SELECT outputs FROM pipeline_task_tries WHERE run_id = $1 AND task_id = $2 AND state = 'success' "
      "ORDER BY try_number DESC LIMIT 1",
      {run_id, task_id}, [&](const DbRow& r) {
        out = std::string(r.Text(0));
        return Status::OK();
      }));
  return out;
}

}  // namespace lathe::pipeline
