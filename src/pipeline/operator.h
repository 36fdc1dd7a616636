// Operators: what a task does. An OperatorRegistry maps an operator name
// ("shell", "webhook", later "train", ...) to a factory that checks a task's
// params and makes an Operator; Operator::Run does one try of the task with a
// TaskContext. The registry is filled once at start-up (not thread-safe
// while registering; read-only and thread-safe afterwards).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lathe::pipeline {

// Everything one try of a task may use. The runner owns it for the try.
struct TaskContext {
  std::string dag_id, run_id, task_id;
  std::string ds;          // run date, YYYY-MM-DD
  int try_number = 1;      // 1 for the first try
  nlohmann::json params;   // the task's params, templated with the run date
  // Outputs of the task's direct upstream tasks (their last successful try),
  // by task id, like Airflow's XCom.
  std::map<std::string, nlohmann::json> upstream_outputs;
  std::string data_dir;    // the deployment's data directory
  std::string db_url;      // the --db URL: storage::OpenDb(db_url, data_dir) opens the catalog ("" = SQLite in data_dir)
  // Deadline of the try (steady clock); max() when the task has no timeout.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // Writes one line (a newline is added) or raw bytes into the try's log.
  std::function<void(std::string_view)> log_line;
  std::function<void(std::string_view)> log_raw;
  // Set when the try must stop (timeout, SIGTERM). Long operators poll it.
  const std::atomic<bool>* cancel = nullptr;

  bool Cancelled() const { return cancel && cancel->load(); }
  void Log(std::string_view line) const {
    if (log_line) log_line(line);
  }
  // A param as T, or fallback when absent. A present value of the wrong type
  // is the operator's to report (use params.at / is_* for that).
  template <typename T>
  T Param(const std::string& key, T fallback) const {
    if (!params.is_object() || !params.contains(key) || params[key].is_null()) return fallback;
    try {
      return params[key].get<T>();
    } catch (const nlohmann::json::exception&) {
      return fallback;
    }
  }
};

class Operator {
 public:
  virtual ~Operator() = default;
  // One try. A non-OK Status fails the try with its message as the reason;
  // the returned JSON object is stored as the try's outputs and handed to
  // downstream tasks. Must return soon after ctx.Cancelled() turns true.
  virtual Result<nlohmann::json> Run(TaskContext& ctx) = 0;
};

// Makes an Operator from a task's params. Called when a DAG is loaded (with
// params templated for a sample date, to reject bad params early) and again
// for each try. InvalidArgument naming the param and why.
using OperatorFactory = std::function<Result<std::unique_ptr<Operator>>(const nlohmann::json& params)>;
// The short form: a function is the whole operator; params arrive in ctx.
using OperatorFunction = std::function<Result<nlohmann::json>(TaskContext& ctx)>;

class OperatorRegistry {
 public:
  // Adds or replaces an operator.
  void Register(const std::string& name, OperatorFactory factory);
  // The short form: `registry.Register("train", [](TaskContext& c) -> Result<json> {...})`.
  // check (optional) validates params at DAG load time.
  void Register(const std::string& name, OperatorFunction run,
                std::function<Status(const nlohmann::json& params)> check = nullptr);
  // nullptr when unknown.
  const OperatorFactory* Find(const std::string& name) const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, OperatorFactory> factories_;
};

// Adds the built-in operators: shell and webhook (builtin_operators.h).
void RegisterBuiltinOperators(OperatorRegistry* registry);

}  // namespace lathe::pipeline
