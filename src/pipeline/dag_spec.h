// DagSpec: a pipeline DAG as written in YAML (format in docs/pipelines.md):
// schedule, start date, catch-up, concurrency limits, on_failure webhook,
// default task args and the tasks with their operator, dependencies,
// templated params, retries, backoff and timeout. Loading checks everything
// (unknown keys, cycles, unknown dependencies or operators, bad cron, bad
// durations, bad templates, bad operator params) and names the task and key.
// Immutable after loading; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "pipeline/cron.h"
#include "pipeline/operator.h"

namespace lathe::pipeline {

struct TaskSpec {
  std::string id;
  std::string operator_name;
  std::vector<std::string> depends_on;
  nlohmann::json params = nlohmann::json::object();  // untemplated
  int retries = 0;                                    // extra tries after the first
  std::chrono::milliseconds retry_delay{10000};       // before the 2nd try
  double retry_backoff = 2.0;                         // multiplier per further try (1 = constant)
  std::chrono::milliseconds max_retry_delay{3600000}; // cap of the delay
  std::chrono::milliseconds timeout{0};               // 0: none
  // Delay before try `next_try` (2, 3, ...): retry_delay * backoff^(next_try-2), capped.
  std::chrono::milliseconds DelayBefore(int next_try) const;
};

struct DagSpec {
  std::string id;
  std::string description;
  std::string source_path;  // file it was loaded from ("" for text)
  std::optional<CronSchedule> schedule;  // none: runs only when asked
  std::string start_date;   // YYYY-MM-DD; required with a schedule
  bool catchup = false;
  int max_active_runs = 1;
  int max_active_tasks = 4;
  std::string on_failure;   // webhook URL, "" = none
  std::vector<TaskSpec> tasks;  // topological order (dependencies first)

  const TaskSpec* Task(const std::string& id) const;
  // Direct downstream task ids of `id`.
  std::vector<std::string> Downstream(const std::string& id) const;
};

// Parses `yaml_text`; operators are checked against `registry`. Errors are
// InvalidArgument "<where>: task 'x': key 'y': why".
Result<DagSpec> ParseDag(const std::string& yaml_text, const OperatorRegistry& registry,
                         const std::string& where = "dag");
// Reads and parses a file (NotFound when missing).
Result<DagSpec> LoadDagFile(const std::string& path, const OperatorRegistry& registry);
// DAG lookup for the commands: a path to a .yaml/.yml file, or a DAG id
// found as DIR/ID.yaml (or .yml) or as the `dag:` of a file in dags_dir.
Result<DagSpec> FindDag(const std::string& name_or_path, const std::string& dags_dir,
                        const OperatorRegistry& registry);
// Every DAG file in dags_dir (sorted by id); the first bad file is an error.
Result<std::vector<DagSpec>> LoadDagDir(const std::string& dags_dir, const OperatorRegistry& registry);

// "250ms", "30s", "5m", "2h", "1d" (a whole number and a unit).
Result<std::chrono::milliseconds> ParseDuration(const std::string& text);

}  // namespace lathe::pipeline
