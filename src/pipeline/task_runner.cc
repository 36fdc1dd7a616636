#include "pipeline/task_runner.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "pipeline/template.h"

namespace lathe::pipeline {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
constexpr size_t kMaxLogText = 1 << 20;  // stored in the catalog; the file keeps everything

std::string FormatMillis(int64_t ms) {
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// Appends to the try's log file and keeps the text for the catalog.
class TryLog {
 public:
  explicit TryLog(const std::string& path) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    file_ = std::fopen(path.c_str(), "ab");
  }
  ~TryLog() {
    if (file_) std::fclose(file_);
  }
  void Raw(std::string_view bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    if (file_) {
      std::fwrite(bytes.data(), 1, bytes.size(), file_);
      std::fflush(file_);
    }
    text_.append(bytes);
    if (text_.size() > 2 * kMaxLogText) text_.erase(0, text_.size() - kMaxLogText);
  }
  void Line(std::string_view line) { Raw("[" + NowIso() + "] " + std::string(line) + "\n"); }
  std::string Text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_.size() > kMaxLogText ? "...\n" + text_.substr(text_.size() - kMaxLogText) : text_;
  }

 private:
  std::mutex mu_;
  std::FILE* file_ = nullptr;
  std::string text_;
};

}  // namespace

std::string TryLogPath(const std::string& data_dir, const std::string& run_id, const std::string& task_id,
                       int64_t try_number) {
  return data_dir + "/pipeline/logs/" + run_id + "/" + task_id + "/try-" + std::to_string(try_number) + ".log";
}

Result<TryOutcome> RunTaskTry(const DagSpec& dag, const std::string& task_id, const std::string& ds,
                              const OperatorRegistry& registry, storage::Db* db, const TryOptions& options) {
  const TaskSpec* task = dag.Task(task_id);
  if (!task) {
    std::string list;
    for (const TaskSpec& t : dag.tasks) list += (list.empty() ? "" : ", ") + t.id;
    return NotFound("dag '" + dag.id + "' has no task '" + task_id + "' (tasks: " + list + ")");
  }
  LATHE_RETURN_IF_ERROR(ParseDate(ds).status());
  StateStore store(db);
  LATHE_ASSIGN_OR_RETURN(RunRecord run, store.GetOrCreateRun(dag.id, ds, options.run_kind, dag.source_path));
  TryOutcome out;
  out.run_id = run.run_id;
  LATHE_ASSIGN_OR_RETURN(auto instance, store.GetTaskInstance(run.run_id, task_id));
  if (instance && instance->state == "success" && !options.force) {
    out.skipped = true;
    out.state = "success";
    out.reason = "already succeeded in run " + run.run_id + " (use --force to run it again)";
    return out;
  }
  if (options.standalone) {
    for (const std::string& dep : task->depends_on) {
      LATHE_ASSIGN_OR_RETURN(auto up, store.GetTaskInstance(run.run_id, dep));
      if (!up || up->state != "success")
        return FailedPrecondition("run " + run.run_id + " task '" + task_id + "': upstream task '" + dep +
                                  "' has not succeeded (" + (up ? up->state : std::string("never ran")) + ")");
    }
  }
  // Upstream outputs, before the try starts, so a bad one fails cleanly.
  std::map<std::string, json> upstream;
  for (const std::string& dep : task->depends_on) {
    LATHE_ASSIGN_OR_RETURN(auto text, store.SuccessOutputs(run.run_id, dep));
    json v = text && !text->empty() ? json::parse(*text, nullptr, false) : json::object();
    upstream[dep] = v.is_discarded() ? json::object() : v;
  }

  int64_t try_number = options.try_number;
  if (try_number <= 0) {
    LATHE_ASSIGN_OR_RETURN(int64_t last, store.LastTryNumber(run.run_id, task_id));
    try_number = last + 1;
  }
  out.try_number = try_number;
  out.log_path = TryLogPath(options.data_dir, run.run_id, task_id, try_number);
  TryRecord rec;
  rec.run_id = run.run_id;
  rec.task_id = task_id;
  rec.try_number = try_number;
  rec.pid = getpid();
  rec.log_path = std::filesystem::absolute(out.log_path).string();
  LATHE_RETURN_IF_ERROR(store.BeginTry(rec));
  LATHE_RETURN_IF_ERROR(store.SetTaskState(run.run_id, task_id, "running", try_number));
  if (options.standalone && run.state != "running") LATHE_RETURN_IF_ERROR(store.SetRunState(run.run_id, "running"));

  TryLog log(out.log_path);
  log.Line("dag " + dag.id + " run " + run.run_id + " task " + task_id + " try " + std::to_string(try_number) +
           " (operator " + task->operator_name + ", pid " + std::to_string(getpid()) + ")");
  std::atomic<bool> cancel{false};
  TaskContext ctx;
  ctx.dag_id = dag.id;
  ctx.run_id = run.run_id;
  ctx.task_id = task_id;
  ctx.ds = ds;
  ctx.try_number = static_cast<int>(try_number);
  ctx.upstream_outputs = std::move(upstream);
  ctx.data_dir = options.data_dir;
  ctx.db_url = options.db_url;
  ctx.log_line = [&log](std::string_view l) { log.Line(l); };
  ctx.log_raw = [&log](std::string_view b) { log.Raw(b); };
  ctx.cancel = &cancel;
  const auto started = Clock::now();
  if (task->timeout.count() > 0) ctx.deadline = started + task->timeout;

  // The watchdog turns the deadline and an external stop into the one
  // cancellation flag operators poll.
  std::atomic<bool> finished{false};
  std::thread watchdog([&] {
    while (!finished.load()) {
      if (Clock::now() >= ctx.deadline || (options.cancel && options.cancel->load())) cancel.store(true);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  Result<json> result = Internal("operator did not run");
  TemplateVars vars{ds, dag.id, run.run_id, task_id, options.data_dir};
  auto params = RenderParams(task->params, vars);
  if (!params.ok()) {
    result = InvalidArgument("params: " + params.status().message());
  } else {
    ctx.params = *params;
    log.Line("params " + ctx.params.dump());
    try {
      auto op = (*registry.Find(task->operator_name))(ctx.params);
      if (!op.ok())
        result = op.status();
      else
        result = (*op)->Run(ctx);
    } catch (const std::exception& e) {
      result = Internal(std::string("operator threw: ") + e.what());
    }
  }
  finished.store(true);
  watchdog.join();

  const bool timed_out = task->timeout.count() > 0 && Clock::now() >= ctx.deadline;
  std::string outputs;
  if (result.ok()) {
    out.state = "success";
    outputs = (result->is_null() ? json::object() : *result).dump();
    log.Line("success, outputs " + outputs);
  } else {
    out.state = "failed";
    out.reason = result.status().message();
    if (timed_out) out.reason = "timeout after " + FormatMillis(task->timeout.count()) + ": " + out.reason;
    else if (options.cancel && options.cancel->load()) out.reason = "cancelled (SIGTERM): " + out.reason;
    log.Line("failed: " + out.reason);
  }
  LATHE_ASSIGN_OR_RETURN(bool ended, store.EndTry(run.run_id, task_id, try_number, out.state, out.reason, log.Text(), outputs));
  if (!ended) return FailedPrecondition("run " + run.run_id + " task '" + task_id + "' try " +
                                        std::to_string(try_number) + " was ended by someone else meanwhile");
  LATHE_RETURN_IF_ERROR(store.SetTaskState(run.run_id, task_id, out.state));
  if (options.standalone) {
    LATHE_ASSIGN_OR_RETURN(auto instances, store.TaskInstances(run.run_id));
    size_t succeeded = 0;
    bool failed = false;
    for (const auto& ti : instances) {
      succeeded += ti.state == "success";
      failed = failed || ti.state == "failed";
    }
    std::string state = failed ? "failed" : succeeded == dag.tasks.size() ? "success" : "running";
    LATHE_RETURN_IF_ERROR(store.SetRunState(run.run_id, state));
  }
  return out;
}

}  // namespace lathe::pipeline
