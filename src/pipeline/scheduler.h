// Scheduler: starts DAG runs on their cron schedules. A run's logical date is
// the start of its schedule interval and it starts once the interval has
// ended (as in Airflow). With catchup: true every interval since the last
// scheduled run in the state tables (or since start_date) runs once; with
// catchup: false only the latest ended one. Runs execute on their own
// threads (each an Executor with its own database connection), at most
// max_active_runs per DAG. Scheduled runs left unfinished by a stopped
// scheduler are continued by the next one. The DAG folder is re-read every
// tick; a file broken meanwhile is reported and the DAGs loaded before stay.
// Run() blocks; not thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pipeline/dag_spec.h"
#include "pipeline/executor.h"

namespace lathe::pipeline {

struct SchedulerOptions {
  std::string dags_dir;
  std::string data_dir;
  std::string db_url;
  std::string lathe_binary;  // "" = /proc/self/exe
  // Clock: now() in Unix seconds. Default: the wall clock.
  std::function<int64_t()> now;
  std::chrono::milliseconds tick{10000};
  bool once = false;  // one scheduling pass, wait for its runs, return
  const std::atomic<bool>* stop = nullptr;
};

// The logical dates (YYYY-MM-DD) due at `now` for a DAG whose last
// scheduled run had logical date `last_ds` ("" = none), oldest first, at
// most `limit`. Pure; exposed for tests.
std::vector<std::string> DueDates(const DagSpec& dag, const std::string& last_ds, int64_t now, size_t limit = 1000);

class Scheduler {
 public:
  Scheduler(const OperatorRegistry& registry, SchedulerOptions options)
      : registry_(registry), options_(std::move(options)) {}
  // Until *stop (then running tries finish; runs stay resumable) or, with
  // once, until one pass and its runs are done.
  Status Run();

 private:
  const OperatorRegistry& registry_;
  SchedulerOptions options_;
};

}  // namespace lathe::pipeline
