// PgServer: a throwaway PostgreSQL server for tests. initdb into a fresh
// temporary folder, start on a free loopback port (trust auth, fsync off),
// stop and delete at the end. As root, the server runs as the `postgres`
// system user (PostgreSQL refuses to run as root) through runuser. Binaries
// come from $LATHE_PG_BIN or the newest /usr/lib/postgresql/*/bin. Not
// thread-safe; one instance per test binary is the usual pattern (about 1 s).
#pragma once

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.h"

namespace lathe::test {

class PgServer {
 public:
  PgServer() { Start(); }
  ~PgServer() {
    if (started_) RunAsOwner({bin_ + "/pg_ctl", "-D", data_, "-m", "immediate", "-w", "stop"});
  }
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // False when the server could not be started; error() says why.
  bool ok() const { return started_; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }

  // Creates database `name` and returns its postgres:// URL ("" on failure,
  // with error() set).
  std::string CreateDatabase(const std::string& name) {
    RunResult r = RunProcess({bin_ + "/createdb", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres",
                              name});
    if (r.exit_code != 0) {
      error_ = "createdb " + name + ": " + r.err;
      return "";
    }
    return Url(name);
  }
  std::string Url(const std::string& db) const {
    return "postgres://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

 private:
  static std::string FindBinDir() {
    if (const char* env = std::getenv("LATHE_PG_BIN")) return env;
    std::vector<std::string> dirs;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      if (std::filesystem::exists(e.path() / "bin" / "initdb")) dirs.push_back((e.path() / "bin").string());
    }
    std::sort(dirs.begin(), dirs.end(), [](const std::string& a, const std::string& b) {
      return a.size() != b.size() ? a.size() < b.size() : a < b;
    });
    return dirs.empty() ? "" : dirs.back();
  }

  static int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    int port = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port = ntohs(addr.sin_port);
    close(fd);
    return port;
  }

  RunResult RunAsOwner(std::vector<std::string> argv) {
    if (getuid() == 0) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
    return RunProcess(argv);
  }

  void Start() {
    bin_ = FindBinDir();
    if (bin_.empty()) {
      error_ = "no PostgreSQL binaries (initdb) under /usr/lib/postgresql/*/bin; run scripts/install-deps.sh";
      return;
    }
    if (getuid() == 0) {
      passwd* pw = getpwnam("postgres");
      if (!pw) {
        error_ = "running as root needs a 'postgres' system user to own the test server (the Debian postgresql "
                 "package creates it)";
        return;
      }
      if (chown(dir_.path().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        error_ = "cannot chown " + dir_.path() + " to postgres";
        return;
      }
    }
    data_ = dir_ / "data";
    RunResult init = RunAsOwner({bin_ + "/initdb", "-D", data_, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                 "--no-locale", "--no-sync"});
    if (init.exit_code != 0) {
      error_ = "initdb failed: " + init.err + init.out;
      return;
    }
    for (int attempt = 0; attempt < 5 && !started_; ++attempt) {
      port_ = FreePort();
      RunResult start = RunAsOwner({bin_ + "/pg_ctl", "-D", data_, "-l", dir_ / "server.log", "-w", "-t", "60", "-o",
                                    "-p " + std::to_string(port_) + " -k " + dir_.path() +
                                        " -c listen_addresses=127.0.0.1 -F",
                                    "start"});
      if (start.exit_code == 0) {
        started_ = true;
      } else {
        error_ = "pg_ctl start failed on port " + std::to_string(port_) + ": " + start.err + start.out + "\n" +
                 ReadAll(dir_ / "server.log");
      }
    }
    if (started_) error_.clear();
  }

  TempDir dir_;
  std::string bin_, data_;
  int port_ = -1;
  bool started_ = false;
  std::string error_;
};

// The test binary's one server, started on first use and stopped at exit.
inline PgServer* SharedPgServer() {
  static PgServer* server = [] {
    auto* s = new PgServer();
    std::atexit([] { delete SharedPgServer(); });
    return s;
  }();
  return server;
}

// A fresh database on the shared server for each call: its URL, or "" with
// *error set.
inline std::string FreshPgDatabase(const std::string& prefix, std::string* error) {
  static int counter = 0;
  PgServer* pg = SharedPgServer();
  if (!pg->ok()) {
    *error = pg->error();
    return "";
  }
  std::string url = pg->CreateDatabase(prefix + "_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
  if (url.empty()) *error = pg->error();
  return url;
}

}  // namespace lathe::test
