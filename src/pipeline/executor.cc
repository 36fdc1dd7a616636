#include "pipeline/executor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <thread>

#include "pipeline/webhook.h"

namespace lathe::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

struct TaskProgress {
  std::string state = "pending";  // pending | running | up_for_retry | success | failed | upstream_failed
  int attempts = 0;               // tries started by this execution
  int64_t try_number = 0;
  Clock::time_point not_before{};
  // running
  pid_t pid = -1;
  Clock::time_point started{};
  bool term_sent = false, kill_sent = false;
};

// Spawns `lathe task run` for one try in a new process group that dies with us.
pid_t SpawnTry(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) {
    if (pid > 0) setpgid(pid, pid);
    return pid;
  }
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(125);
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
  }
  execv(args[0], args.data());
  _exit(127);
}

std::string DescribeExit(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

bool ProcessAlive(int64_t pid) {
  if (pid <= 0 || pid == getpid()) return false;
  if (kill(static_cast<pid_t>(pid), 0) != 0) return errno == EPERM;
  // A zombie is not alive.
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%lld/stat", static_cast<long long>(pid));
  std::FILE* f = std::fopen(path, "r");
  if (!f) return true;
  char buf[512] = {0};
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string s(buf, n);
  size_t close = s.rfind(')');
  return !(close != std::string::npos && close + 2 < s.size() && s[close + 2] == 'Z');
}

bool OwnerMayBeAlive(const RunRecord& run) {
  if (run.owner_pid == 0) return false;
  if (!run.owner_host.empty() && run.owner_host != ThisHost()) return true;
  return ProcessAlive(run.owner_pid);
}

Result<RunRecord> Executor::Run(const std::string& ds, const std::string& kind) {
  if (dag_.source_path.empty()) return InvalidArgument("dag '" + dag_.id + "' was not loaded from a file");
  LATHE_ASSIGN_OR_RETURN(RunRecord run, store_.GetOrCreateRun(dag_.id, ds, kind, dag_.source_path));
  return Execute(std::move(run));
}

Result<RunRecord> Executor::Resume(const std::string& run_id) {
  LATHE_ASSIGN_OR_RETURN(auto run, store_.GetRun(run_id));
  if (!run) return NotFound("run " + run_id + ": no such run");
  if (run->dag_id != dag_.id) return InvalidArgument("run " + run_id + " belongs to dag '" + run->dag_id + "'");
  return Execute(std::move(*run));
}

void Executor::NotifyFailure(const RunRecord& run, const std::string& task_id, int64_t try_number,
                             const std::string& reason) {
  if (dag_.on_failure.empty()) return;
  nlohmann::json body = {{"event", "task_failed"}, {"dag_id", dag_.id}, {"run_id", run.run_id},
                         {"ds", run.ds},           {"task_id", task_id}, {"try_number", try_number},
                         {"reason", reason}};
  Status st = PostJson(dag_.on_failure, body, std::chrono::seconds(10));
  if (!st.ok()) std::fprintf(stderr, "lathe: on_failure webhook: %s\n", st.message().c_str());
}

Result<RunRecord> Executor::Execute(RunRecord run) {
  auto log = [&](const std::string& line) {
    if (options_.verbose) std::fprintf(stderr, "%s: %s\n", run.run_id.c_str(), line.c_str());
  };
  const bool remote = run.owner_pid != 0 && !run.owner_host.empty() && run.owner_host != ThisHost();
  if (remote && !options_.takeover)
    return FailedPrecondition("run " + run.run_id + " is owned by process " + std::to_string(run.owner_pid) +
                              " on host " + run.owner_host + "; if that executor is dead, `lathe pipeline resume " +
                              run.run_id + " --takeover`");
  if (!remote && ProcessAlive(run.owner_pid))
    return FailedPrecondition("run " + run.run_id + " is being executed by process " + std::to_string(run.owner_pid));
  // The owner we saw is gone (or there was none): take the run unless
  // another executor took it meanwhile.
  LATHE_ASSIGN_OR_RETURN(bool claimed, store_.ClaimRun(run.run_id, run.owner_pid, getpid()));
  if (!claimed) return FailedPrecondition("run " + run.run_id + " was just claimed by another process");
  LATHE_RETURN_IF_ERROR(store_.SetRunState(run.run_id, "running"));
  if (options_.force) LATHE_RETURN_IF_ERROR(store_.ResetTasks(run.run_id));

  // Tries still `running` belong to a process that died (we own the run now).
  LATHE_ASSIGN_OR_RETURN(auto tries, store_.Tries(run.run_id));
  for (const TryRecord& t : tries) {
    if (t.state != "running") continue;
    std::string reason = "abandoned: the process running it (pid " + std::to_string(t.pid) +
                         ") ended without recording a result";
    LATHE_ASSIGN_OR_RETURN(bool ended, store_.EndTry(t.run_id, t.task_id, t.try_number, "abandoned", reason, "", ""));
    if (ended) log("task " + t.task_id + " try " + std::to_string(t.try_number) + " " + reason);
  }
  std::map<std::string, TaskProgress> tasks;
  LATHE_ASSIGN_OR_RETURN(auto instances, store_.TaskInstances(run.run_id));
  for (const TaskSpec& t : dag_.tasks) tasks[t.id];
  for (const auto& ti : instances)
    if (ti.state == "success" && tasks.count(ti.task_id)) tasks[ti.task_id].state = "success";
  for (const TaskSpec& t : dag_.tasks)
    if (tasks[t.id].state != "success") LATHE_RETURN_IF_ERROR(store_.SetTaskState(run.run_id, t.id, "scheduled"));

  const std::string binary = options_.lathe_binary.empty() ? "/proc/self/exe" : options_.lathe_binary;
  int running = 0;
  bool stopping = false;
  while (true) {
    if (!stopping && options_.stop && options_.stop->load()) {
      stopping = true;
      log("stopping: no new tries; waiting for " + std::to_string(running) + " running");
    }
    const auto now = Clock::now();
    // Downstream of a failure never runs.
    for (const TaskSpec& t : dag_.tasks) {
      TaskProgress& p = tasks[t.id];
      if (p.state != "pending" && p.state != "up_for_retry") continue;
      for (const std::string& d : t.depends_on) {
        const std::string& ds = tasks[d].state;
        if (ds == "failed" || ds == "upstream_failed") {
          p.state = "upstream_failed";
          LATHE_RETURN_IF_ERROR(store_.SetTaskState(run.run_id, t.id, "upstream_failed"));
          log("task " + t.id + " upstream_failed (" + d + " " + ds + ")");
          break;
        }
      }
    }
    // Start what is ready.
    for (const TaskSpec& t : dag_.tasks) {
      if (stopping || running >= dag_.max_active_tasks) break;
      TaskProgress& p = tasks[t.id];
      if ((p.state != "pending" && p.state != "up_for_retry") || now < p.not_before) continue;
      bool ready = std::all_of(t.depends_on.begin(), t.depends_on.end(),
                               [&](const std::string& d) { return tasks[d].state == "success"; });
      if (!ready) continue;
      LATHE_ASSIGN_OR_RETURN(int64_t last, store_.LastTryNumber(run.run_id, t.id));
      p.try_number = last + 1;
      std::vector<std::string> argv = {binary, "--data-dir", options_.data_dir, "task", "run", dag_.source_path, t.id,
                                       "--date", run.ds, "--try", std::to_string(p.try_number), "--under-executor"};
      if (!options_.db_url.empty()) argv.insert(argv.end(), {"--db", options_.db_url});
      if (options_.force) argv.push_back("--force");
      pid_t pid = SpawnTry(argv);
      if (pid < 0) return IOError("fork for task " + t.id + " failed");
      p.pid = pid;
      p.state = "running";
      p.started = now;
      p.term_sent = p.kill_sent = false;
      ++p.attempts;
      ++running;
      log("task " + t.id + " try " + std::to_string(p.try_number) + " started (pid " + std::to_string(pid) + ")");
    }
    if (running == 0) {
      bool waiting = false;
      for (const TaskSpec& t : dag_.tasks) {
        const std::string& s = tasks[t.id].state;
        waiting = waiting || s == "pending" || s == "up_for_retry";
      }
      if (!waiting || stopping) break;
    }
    // Reap finished tries and enforce timeouts.
    for (const TaskSpec& t : dag_.tasks) {
      TaskProgress& p = tasks[t.id];
      if (p.state != "running") continue;
      int status = 0;
      pid_t r = waitpid(p.pid, &status, WNOHANG);
      if (r == 0) {
        if (t.timeout.count() > 0) {
          auto over = now - (p.started + t.timeout);
          if (!p.term_sent && over >= options_.kill_grace) {
            killpg(p.pid, SIGTERM);
            p.term_sent = true;
          } else if (!p.kill_sent && over >= 2 * options_.kill_grace) {
            killpg(p.pid, SIGKILL);
            p.kill_sent = true;
          }
        }
        continue;
      }
      --running;
      killpg(p.pid, SIGKILL);  // whatever the try left behind in its group
      // The child records its own result; when it could not, record why here.
      std::string reason = p.term_sent ? "timeout: killed by the executor after the task's timeout and grace period"
                                       : "the task process " + DescribeExit(status) + " before recording a result";
      LATHE_ASSIGN_OR_RETURN(auto rec, store_.Tries(run.run_id, t.id));
      const TryRecord* mine = nullptr;
      for (const TryRecord& tr : rec)
        if (tr.try_number == p.try_number) mine = &tr;
      if (!mine) {
        // The child failed before it could record the try (a DAG file
        // broken since, the database unreachable): record it here.
        TryRecord tr;
        tr.run_id = run.run_id;
        tr.task_id = t.id;
        tr.try_number = p.try_number;
        tr.pid = p.pid;
        tr.log_path = "";
        (void)store_.BeginTry(tr);
      }
      (void)store_.EndTry(run.run_id, t.id, p.try_number, "failed", reason, "", "");
      LATHE_ASSIGN_OR_RETURN(rec, store_.Tries(run.run_id, t.id));
      std::string state = "failed";
      for (const TryRecord& tr : rec)
        if (tr.try_number == p.try_number) {
          state = tr.state;
          reason = tr.exit_reason;
        }
      if (state == "success") {
        p.state = "success";
        LATHE_RETURN_IF_ERROR(store_.SetTaskState(run.run_id, t.id, "success"));
        log("task " + t.id + " try " + std::to_string(p.try_number) + " success");
      } else if (p.attempts <= t.retries) {
        auto delay = t.DelayBefore(p.attempts + 1);
        p.state = "up_for_retry";
        p.not_before = Clock::now() + delay;
        LATHE_RETURN_IF_ERROR(store_.SetTaskState(run.run_id, t.id, "up_for_retry"));
        log("task " + t.id + " try " + std::to_string(p.try_number) + " failed (" + reason + "); retry in " +
            std::to_string(delay.count()) + " ms");
      } else {
        p.state = "failed";
        LATHE_RETURN_IF_ERROR(store_.SetTaskState(run.run_id, t.id, "failed"));
        log("task " + t.id + " try " + std::to_string(p.try_number) + " failed: " + reason);
        NotifyFailure(run, t.id, p.try_number, reason);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  bool all_success = true, any_failed = false;
  for (auto& [id, p] : tasks) {
    all_success = all_success && p.state == "success";
    any_failed = any_failed || p.state == "failed" || p.state == "upstream_failed";
  }
  if (stopping && !all_success && !any_failed) {
    LATHE_RETURN_IF_ERROR(store_.SetRunOwner(run.run_id, 0));
    log("stopped; continue with `lathe pipeline resume " + run.run_id + "`");
  } else {
    LATHE_RETURN_IF_ERROR(store_.SetRunState(run.run_id, all_success ? "success" : "failed"));
    LATHE_RETURN_IF_ERROR(store_.SetRunOwner(run.run_id, 0));
    log(all_success ? "success" : "failed");
  }
  LATHE_ASSIGN_OR_RETURN(auto final_run, store_.GetRun(run.run_id));
  return *final_run;
}

}  // namespace lathe::pipeline
