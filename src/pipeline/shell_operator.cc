#include "pipeline/shell_operator.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace lathe::pipeline {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
constexpr auto kKillGrace = std::chrono::seconds(2);

class ShellOperator : public Operator {
 public:
  explicit ShellOperator(json params) : params_(std::move(params)) {}

  Result<json> Run(TaskContext& ctx) override {
    const std::string command = params_["command"].get<std::string>();
    std::string outputs_path = (std::filesystem::temp_directory_path() /
                                ("lathe-outputs-" + std::to_string(getpid()) + "-" + ctx.task_id + ".json"))
                                   .string();
    std::filesystem::remove(outputs_path);
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
    std::string nodash;
    for (char c : ctx.ds)
      if (c != '-') nodash += c;
    env.push_back("LATHE_DS=" + ctx.ds);
    env.push_back("LATHE_DS_NODASH=" + nodash);
    env.push_back("LATHE_DAG_ID=" + ctx.dag_id);
    env.push_back("LATHE_RUN_ID=" + ctx.run_id);
    env.push_back("LATHE_TASK_ID=" + ctx.task_id);
    env.push_back("LATHE_TRY_NUMBER=" + std::to_string(ctx.try_number));
    env.push_back("LATHE_DATA_DIR=" + ctx.data_dir);
    env.push_back("LATHE_DB_URL=" + ctx.db_url);
    env.push_back("LATHE_OUTPUTS=" + outputs_path);
    if (params_.contains("env"))
      for (auto& [k, v] : params_["env"].items()) env.push_back(k + "=" + v.get<std::string>());
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string cwd = params_.value("cwd", std::string());

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return IOError(std::string("pipe: ") + std::strerror(errno));
    ctx.Log("$ " + command);
    pid_t pid = fork();
    if (pid < 0) {
      close(fds[0]);
      close(fds[1]);
      return IOError(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
      // Only async-signal-safe calls from here to exec.
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, 0);
      if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
      const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
      execve("/bin/sh", const_cast<char* const*>(argv), envp.data());
      _exit(127);
    }
    setpgid(pid, pid);  // also here, so the group exists before any killpg
    close(fds[1]);
    std::string reason;
    Clock::time_point kill_at = Clock::time_point::max();
    bool open_pipe = true;
    int status = 0;
    bool exited = false;
    while (!exited) {
      if (open_pipe) {
        pollfd p{fds[0], POLLIN, 0};
        if (poll(&p, 1, 50) > 0) {
          char buf[8192];
          ssize_t n = read(fds[0], buf, sizeof buf);
          if (n > 0) {
            if (ctx.log_raw) ctx.log_raw(std::string_view(buf, static_cast<size_t>(n)));
          } else {
            open_pipe = false;
          }
        }
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (waitpid(pid, &status, WNOHANG) == pid) exited = true;
      if (exited) break;
      const auto now = Clock::now();
      if (reason.empty() && (ctx.Cancelled() || now >= ctx.deadline)) {
        reason = now >= ctx.deadline ? "timeout" : "cancelled";
        killpg(pid, SIGTERM);
        kill_at = now + kKillGrace;
      } else if (now >= kill_at) {
        killpg(pid, SIGKILL);
        kill_at = Clock::time_point::max();
      }
    }
    // Drain what is left, and stop anything the command left behind.
    killpg(pid, SIGKILL);
    if (open_pipe) {
      char buf[8192];
      fcntl(fds[0], F_SETFL, O_NONBLOCK);
      for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
        if (ctx.log_raw) ctx.log_raw(std::string_view(buf, static_cast<size_t>(n)));
    }
    close(fds[0]);
    json outputs = json::object();
    if (std::ifstream in(outputs_path); in) {
      std::stringstream ss;
      ss << in.rdbuf();
      json parsed = json::parse(ss.str(), nullptr, false);
      std::filesystem::remove(outputs_path);
      if (!parsed.is_object()) return InvalidArgument("$LATHE_OUTPUTS does not hold a JSON object");
      outputs = parsed;
    }
    if (reason == "timeout") return DeadlineExceeded("command killed at the task's timeout");
    if (reason == "cancelled") return Unavailable("command killed: the try was cancelled");
    if (WIFSIGNALED(status)) return Internal("command killed by signal " + std::to_string(WTERMSIG(status)));
    int code = WEXITSTATUS(status);
    if (code != 0) return Internal("command exited with status " + std::to_string(code));
    outputs["exit_code"] = 0;
    return outputs;
  }

 private:
  json params_;
};

}  // namespace

Result<std::unique_ptr<Operator>> MakeShellOperator(const json& params) {
  for (auto& [k, v] : params.items())
    if (k != "command" && k != "env" && k != "cwd")
      return InvalidArgument("unknown param '" + k + "' (known: command, env, cwd)");
  if (!params.contains("command") || !params["command"].is_string() || params["command"].get<std::string>().empty())
    return InvalidArgument("param 'command' (a non-empty string) is required");
  if (params.contains("env")) {
    if (!params["env"].is_object()) return InvalidArgument("param 'env' must be a mapping of names to strings");
    for (auto& [k, v] : params["env"].items())
      if (!v.is_string()) return InvalidArgument("param 'env': '" + k + "' must be a string (quote numbers)");
  }
  if (params.contains("cwd") && !params["cwd"].is_string()) return InvalidArgument("param 'cwd' must be a string");
  return std::unique_ptr<Operator>(std::make_unique<ShellOperator>(params));
}

}  // namespace lathe::pipeline
