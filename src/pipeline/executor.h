// Executor: runs one DAG run to its end. Tasks start in dependency order,
// independent ones concurrently (up to the DAG's max_active_tasks); each try
// is a child process `lathe task run DAG TASK --date D --try N` (so a
// crashing task cannot take the executor down, and a timeout can kill it:
// SIGTERM to its process group, SIGKILL after a grace period; children die
// with the executor through PR_SET_PDEATHSIG). Failed tries are retried with
// backoff; a task that fails for good marks its downstream upstream_failed
// and calls the DAG's on_failure webhook. Tasks that already succeeded are
// not run again unless forced. One Executor per thread.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "pipeline/dag_spec.h"
#include "pipeline/state_store.h"
#include "storage/db.h"

namespace lathe::pipeline {

struct ExecutorOptions {
  std::string lathe_binary;  // "" = /proc/self/exe
  std::string data_dir;
  std::string db_url;
  bool force = false;        // run every task again (new tries)
  // Set to stop: no new tries start; running ones finish and are recorded;
  // the run stays `running` for `lathe pipeline resume`.
  const std::atomic<bool>* stop = nullptr;
  // Beyond a task's timeout the child enforces itself, the executor waits
  // this long before SIGTERM, and as long again before SIGKILL.
  std::chrono::milliseconds kill_grace{5000};
  bool verbose = true;       // progress lines on stderr
  // Take over a run whose owner is on another host (which this process
  // cannot check): only when that executor is known to be dead.
  bool takeover = false;
};

class Executor {
 public:
  Executor(const DagSpec& dag, storage::Db* db, ExecutorOptions options)
      : dag_(dag), db_(db), store_(db), options_(std::move(options)) {}

  // Creates the run of `ds` (kind external | scheduled | backfill) or
  // continues the existing one, and executes it. Returns the run as it ended:
  // success, failed, or running when stopped. FailedPrecondition when another
  // live process is executing it.
  Result<RunRecord> Run(const std::string& ds, const std::string& kind);
  // Continues an existing run: tries left `running` by a dead process are
  // recorded as abandoned and every task not yet succeeded runs again.
  Result<RunRecord> Resume(const std::string& run_id);

 private:
  Result<RunRecord> Execute(RunRecord run);
  void NotifyFailure(const RunRecord& run, const std::string& task_id, int64_t try_number, const std::string& reason);

  const DagSpec& dag_;
  storage::Db* db_;
  StateStore store_;
  ExecutorOptions options_;
};

// True when pid is a live process other than this one (on this host).
bool ProcessAlive(int64_t pid);
// True when the run has an owner that may still be executing it: a live
// process on this host, or any owner on another host.
bool OwnerMayBeAlive(const RunRecord& run);

}  // namespace lathe::pipeline
