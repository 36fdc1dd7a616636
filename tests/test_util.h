// Helpers for end-to-end tests: temporary directories, running the real
// `lathe` binary as a child process and capturing its output, and streaming a
// child's stderr line by line (for kill -9 tests). Not thread-safe.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace lathe::test {

// A fresh directory under $TMPDIR, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lathe-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& data) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << data;
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv to completion, capturing stdout and stderr through files.
inline RunResult RunProcess(const std::vector<std::string>& argv) {
  static int counter = 0;
  std::string base = std::filesystem::temp_directory_path() / ("lathe-run-" + std::to_string(getpid()) + "-" +
                                                               std::to_string(counter++));
  std::string out_path = base + ".out", err_path = base + ".err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  RunResult result;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  result.out = ReadAll(out_path);
  result.err = ReadAll(err_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  return result;
}

// Runs the `lathe` binary under test with --data-dir data_dir and args.
inline RunResult RunLathe(const std::string& data_dir, std::vector<std::string> args) {
#ifdef LATHE_BINARY
  args.insert(args.begin(), {LATHE_BINARY, "--data-dir", data_dir});
#endif
  return RunProcess(args);
}

// A child process whose stderr (or stdout) is read line by line through a pipe.
class Child {
 public:
  enum class Capture { kStderr, kStdout };
  // kStderr: stdout goes to /dev/null. kStdout: stderr is inherited.
  explicit Child(const std::vector<std::string>& argv, Capture capture = Capture::kStderr) {
    int fds[2];
    if (pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (capture == Capture::kStderr) {
      posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
      posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    } else {
      posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    }
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    stream_ = fdopen(fds[0], "r");
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stream_) fclose(stream_);
  }
  // Next captured line without the newline; false at end of stream.
  bool ReadLine(std::string* line) {
    if (!stream_) return false;
    char* buf = nullptr;
    size_t cap = 0;
    ssize_t n = getline(&buf, &cap, stream_);
    if (n < 0) {
      free(buf);
      return false;
    }
    line->assign(buf, static_cast<size_t>(n));
    free(buf);
    while (!line->empty() && (line->back() == '\n' || line->back() == '\r')) line->pop_back();
    return true;
  }
  // Sends SIGKILL and reaps the child; returns its wait status.
  int Kill9() {
    int status = 0;
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    return status;
  }
  // Sends sig; the child keeps running until Wait.
  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }
  // Reaps the child; its exit code (128 + signal when killed), -1 if none.
  int Wait() {
    if (pid_ <= 0) return -1;
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  FILE* stream_ = nullptr;
};

}  // namespace lathe::test
