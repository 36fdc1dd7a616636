// StateStore: the pipeline's persisted state in the catalog database
// (tables pipeline_runs, pipeline_task_instances, pipeline_task_tries;
// migration 6, docs/pipelines.md). One run per (dag, ds), id "DAG@DS".
// Times are Unix milliseconds. Wraps one storage::Db connection: not
// thread-safe, one StateStore per thread or process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/db.h"

namespace lathe::pipeline {

// Run states: queued, running, success, failed.
// Task instance states: none (no row), scheduled, running, up_for_retry,
// success, failed, upstream_failed.
// Try states: running, success, failed, abandoned (its process died with
// the executor; found by resume).
struct RunRecord {
  std::string run_id, dag_id, ds;
  std::string kind;   // external | scheduled | backfill
  std::string state;
  int64_t created_at = 0, started_at = 0, ended_at = 0;
  int64_t owner_pid = 0;  // executor process, 0 = none
  std::string dag_path;
  std::string owner_host;  // host name of the owner process
};

struct TaskInstanceRecord {
  std::string run_id, task_id, state;
  int64_t tries = 0;
  int64_t updated_at = 0;
};

struct TryRecord {
  std::string run_id, task_id;
  int64_t try_number = 0;
  std::string state;
  int64_t started_at = 0, ended_at = 0;
  std::string exit_reason;
  int64_t pid = 0;
  std::string log_path, log_text, outputs;  // outputs: JSON text, "" = none
};

int64_t NowMillis();
// This machine's host name, as recorded with a run's owner.
std::string ThisHost();

class StateStore {
 public:
  explicit StateStore(storage::Db* db) : db_(db) {}

  static std::string RunId(const std::string& dag_id, const std::string& ds) { return dag_id + "@" + ds; }

  // The run of (dag, ds), created in state queued with `kind` when it does
  // not exist (*created says which).
  Result<RunRecord> GetOrCreateRun(const std::string& dag_id, const std::string& ds, const std::string& kind,
                                   const std::string& dag_path, bool* created = nullptr);
  Result<std::optional<RunRecord>> GetRun(const std::string& run_id);
  // Newest ds first; dag_id "" = all DAGs.
  Result<std::vector<RunRecord>> ListRuns(const std::string& dag_id, int limit = 100);
  // running sets started_at (first time) and clears ended_at; success and
  // failed set ended_at.
  Status SetRunState(const std::string& run_id, const std::string& state);
  // Sets the owner process (on this host); 0 clears it.
  Status SetRunOwner(const std::string& run_id, int64_t pid);
  // Sets the owner to `pid` only if it is still `expected` (compare and
  // swap, so two executors cannot both claim a run). False when it was not.
  Result<bool> ClaimRun(const std::string& run_id, int64_t expected, int64_t pid);
  // The latest ds of a run of kind `scheduled` for the DAG, nullopt if none.
  Result<std::optional<std::string>> LastScheduledDs(const std::string& dag_id);
  // Runs of the DAG in state queued or running.
  Result<int64_t> ActiveRuns(const std::string& dag_id);

  Result<std::vector<TaskInstanceRecord>> TaskInstances(const std::string& run_id);
  Result<std::optional<TaskInstanceRecord>> GetTaskInstance(const std::string& run_id, const std::string& task_id);
  // Creates or updates the instance; tries < 0 leaves the count alone.
  Status SetTaskState(const std::string& run_id, const std::string& task_id, const std::string& state,
                      int64_t tries = -1);
  // Removes every instance of the run (the tries stay as history): --force.
  Status ResetTasks(const std::string& run_id);

  // Records the start of a try (state running). AlreadyExists when that try
  // number is taken (two runners raced for the task).
  Status BeginTry(const TryRecord& t);
  // Ends a try still in state running: sets state, reason, log text and
  // outputs. Returns false (and changes nothing) when it had already ended.
  Result<bool> EndTry(const std::string& run_id, const std::string& task_id, int64_t try_number,
                      const std::string& state, const std::string& reason, const std::string& log_text,
                      const std::string& outputs);
  // Oldest first; task_id "" = every task of the run.
  Result<std::vector<TryRecord>> Tries(const std::string& run_id, const std::string& task_id = "");
  // Highest try number recorded for the task (0 = none).
  Result<int64_t> LastTryNumber(const std::string& run_id, const std::string& task_id);
  // Outputs of the task's last successful try, nullopt when it has none.
  Result<std::optional<std::string>> SuccessOutputs(const std::string& run_id, const std::string& task_id);

 private:
  storage::Db* db_;
};

}  // namespace lathe::pipeline
