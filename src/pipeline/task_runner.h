// RunTaskTry: one try of one task, in this process, with its state records:
// the run (created as needed), the task instance and the try (start, end,
// state, exit reason, log file and log text, outputs). This is what
// `lathe task run` does, and so what the executor's child processes,
// Airflow, Argo and Kubernetes run. The caller's thread runs the operator.
#pragma once

#include <atomic>
#include <string>

#include "pipeline/dag_spec.h"
#include "pipeline/operator.h"
#include "pipeline/state_store.h"
#include "storage/db.h"

namespace lathe::pipeline {

struct TryOptions {
  std::string data_dir;
  std::string db_url;
  std::string run_kind = "external";  // used when the run does not exist yet
  int64_t try_number = 0;             // 0: the next free number
  bool force = false;                 // run even when the task already succeeded
  // true when called without an executor: checks that upstream tasks
  // succeeded and keeps the run's state in step with its tasks.
  bool standalone = true;
  const std::atomic<bool>* cancel = nullptr;  // external stop (SIGTERM)
};

struct TryOutcome {
  std::string run_id;
  int64_t try_number = 0;  // 0 when skipped
  bool skipped = false;    // the task had already succeeded
  std::string state;       // success | failed
  std::string reason;
  std::string log_path;
};

// Errors are for what stops the try from being recorded at all (bad task,
// database down, upstream not finished); a failing operator is an OK
// Result with state failed.
Result<TryOutcome> RunTaskTry(const DagSpec& dag, const std::string& task_id, const std::string& ds,
                              const OperatorRegistry& registry, storage::Db* db, const TryOptions& options);

// <data_dir>/pipeline/logs/<run_id>/<task_id>/try-<n>.log
std::string TryLogPath(const std::string& data_dir, const std::string& run_id, const std::string& task_id,
                       int64_t try_number);

}  // namespace lathe::pipeline
