// `lathe demo`: the main job end to end on the embedded default
// (docs/demo.md). On an empty data directory it generates 60 days of
// transactions, runs the daily fraud pipeline over the last days until the
// registry holds a champion and a rejected challenger, ingests the sample
// knowledge base, creates an admin key and becomes `lathe serve` with both
// the support assistant and the fraud model. Each fraud step runs the real
// subcommand as a child process, exactly as a user or a scheduler would; a
// second demo on the same directory reuses what is there.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "app/commands.h"
#include "ml/data/transaction.h"
#include "storage/db.h"

extern char** environ;

namespace lathe::app {
namespace {

struct DemoArgs {
  std::string kb = "examples/support-kb";
  std::string questions = "examples/support-kb-eval/demo-questions.txt";
  std::string dag = "pipelines/fraud-daily.yaml";
  size_t k = 3;
  int days = 60;
  int64_t customers = 2000, terminals = 4000;
  int max_runs = 6;
  int port = 8080;
  std::string host = "127.0.0.1";
  bool serve = true;
};

std::string Self() {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("lathe") : p.string();
}

// `lathe --data-dir DIR ARGS...` as a child sharing stdout and stderr; its exit status.
int RunSelf(const AppContext& ctx, const std::vector<std::string>& args, std::string* out = nullptr) {
  std::vector<std::string> argv = {Self(), "--data-dir", ctx.settings.data_dir, "--log-level", "warn"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> c;
  for (std::string& a : argv) c.push_back(a.data());
  c.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  int fds[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (out) {
    if (pipe(fds) != 0) return 1;
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
  }
  pid_t pid = 0;
  int rc = posix_spawn(&pid, c[0], &actions, nullptr, c.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (out) close(fds[1]);
  if (rc != 0) {
    if (out) close(fds[0]);
    std::fprintf(stderr, "lathe demo: cannot start %s: %s\n", c[0], std::strerror(rc));
    return 1;
  }
  if (out) {
    char buf[4096];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out->append(buf, static_cast<size_t>(n));
    close(fds[0]);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct RegistryCounts {
  int64_t transactions = 0, champions = 0, rejected = 0, versions = 0;
};

Result<RegistryCounts> Counts(const AppContext& ctx) {
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> db, storage::OpenDb("", ctx.settings.data_dir));
  RegistryCounts c;
  LATHE_ASSIGN_OR_RETURN(c.transactions, db->QueryInt("SELECT COUNT(*) FROM transactions"));
  LATHE_ASSIGN_OR_RETURN(c.champions,
                         db->QueryInt("SELECT COUNT(*) FROM model_aliases WHERE name = 'fraud' AND alias = 'champion'"));
  LATHE_ASSIGN_OR_RETURN(c.rejected,
                         db->QueryInt("SELECT COUNT(*) FROM promotion_decisions WHERE name = 'fraud' AND promote = 0"));
  LATHE_ASSIGN_OR_RETURN(c.versions, db->QueryInt("SELECT COUNT(*) FROM model_versions WHERE name = 'fraud'"));
  return c;
}

int64_t Today() { return static_cast<int64_t>(std::time(nullptr)) / ml::kSecondsPerDay * ml::kSecondsPerDay; }

int RunDemo(AppContext* ctx, const DemoArgs& a) {
  for (const std::string& path : {a.kb, a.questions, a.dag}) {
    if (!std::filesystem::exists(path)) {
      std::fprintf(stderr, "lathe demo: %s not found: run the demo from the repository root (or pass its option)\n",
                   path.c_str());
      return 2;
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(ctx->settings.data_dir, ec);
  auto counts = Counts(*ctx);
  if (!counts.ok()) return ReportError(counts.status());

  // 1. Transactions: the 60 days before today.
  std::printf("== Fraud pipeline: transactions\n");
  if (counts->transactions == 0) {
    int rc = RunSelf(*ctx, {"data", "generate", "--days", std::to_string(a.days), "--customers",
                            std::to_string(a.customers), "--terminals", std::to_string(a.terminals)});
    if (rc != 0) return rc;
  } else {
    std::printf("%lld transactions already stored: not generating\n", static_cast<long long>(counts->transactions));
  }

  // 2. The daily pipeline over the last days, oldest first, until there is a
  //    champion and a challenger the promotion rule turned down.
  std::printf("\n== Fraud pipeline: daily runs of %s\n", a.dag.c_str());
  const int64_t today = Today();
  int runs = 0;
  for (int back = a.max_runs; back >= 1; --back) {
    counts = Counts(*ctx);
    if (!counts.ok()) return ReportError(counts.status());
    if (counts->champions > 0 && counts->rejected > 0 && runs >= 2) break;
    const std::string ds = ml::FormatDay(today - back * ml::kSecondsPerDay);
    std::printf("-- %s\n", ds.c_str());
    std::fflush(stdout);
    int rc = RunSelf(*ctx, {"pipeline", "run", a.dag, "--date", ds});
    if (rc != 0) {
      std::fprintf(stderr, "lathe demo: the pipeline run for %s failed (see: lathe --data-dir %s pipeline logs "
                           "fraud-daily@%s)\n", ds.c_str(), ctx->settings.data_dir.c_str(), ds.c_str());
      return rc;
    }
    ++runs;
  }
  counts = Counts(*ctx);
  if (!counts.ok()) return ReportError(counts.status());
  std::printf("\n");
  RunSelf(*ctx, {"models", "list"});
  if (counts->rejected == 0)
    std::printf("(no challenger was turned down in these runs: each one beat its champion by the rule)\n");

  // 3. The support assistant's knowledge base.
  std::printf("\n== Support assistant: sample knowledge base\n");
  int rc = RunKbDemo(ctx, a.kb, a.questions, a.k);
  if (rc != 0) return rc;

  if (!a.serve) return 0;
  // 4. A key and the server.
  std::string key;
  rc = RunSelf(*ctx, {"keys", "create", "--tenant", "default", "--scope", "admin"}, &key);
  if (rc != 0) return rc;
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  const std::string base = "http://" + a.host + ":" + std::to_string(a.port);
  const std::string ts = ml::FormatDay(today) + "T12:00:00Z";
  std::printf(R"(
== Serving on %s: the support assistant (collection "support") and the fraud model
Admin API key (shown once): %s

Open the web UI in a browser and enter the key once: %s/
  (chat with citations, knowledge base, search playground, runs, models, pipelines, data quality)

Ask a question (grounded answer with verified citations):
  curl -s %s/v1/chat -H "Authorization: Bearer %s" -H 'Content-Type: application/json' \
    -d '{"collection":"support","message":"How do I get a refund for my annual plan?"}'
An off-topic question is handed off to a person:
  curl -s %s/v1/chat -H "Authorization: Bearer %s" -H 'Content-Type: application/json' \
    -d '{"collection":"support","message":"How do I bake bread?"}'
Score a transaction with the champion (probability, decision, top features):
  curl -s %s/v1/models/fraud/predict -H "Authorization: Bearer %s" -H 'Content-Type: application/json' \
    -d '{"transaction_id":900000001,"ts":"%s","customer_id":42,"terminal_id":7,"amount":1890.5}'
The model serving and its version:   curl -s %s/v1/models/fraud -H "Authorization: Bearer %s"
Runs, models and the pipeline:       ./build/lathe --data-dir %s runs list | models list | pipeline status
Run tomorrow's pipeline by hand:     LATHE_ADMIN_KEY=%s ./build/lathe --data-dir %s pipeline run fraud-daily --date %s
  (its deploy task tells this server to load a new champion; the server also polls)
Ctrl-C stops the server after the requests in flight.

)",
              base.c_str(), key.c_str(), base.c_str(), base.c_str(), key.c_str(), base.c_str(), key.c_str(), base.c_str(),
              key.c_str(),
              ts.c_str(), base.c_str(), key.c_str(), ctx->settings.data_dir.c_str(), key.c_str(),
              ctx->settings.data_dir.c_str(), ml::FormatDay(today).c_str());
  std::fflush(stdout);
  // Become the server: same process, so Ctrl-C and SIGTERM reach it directly.
  std::vector<std::string> argv = {Self(), "--data-dir", ctx->settings.data_dir, "serve", "--port",
                                   std::to_string(a.port), "--host", a.host};
  std::vector<char*> c;
  for (std::string& s : argv) c.push_back(s.data());
  c.push_back(nullptr);
  execv(c[0], c.data());
  std::fprintf(stderr, "lathe demo: cannot start the server: %s\n", std::strerror(errno));
  return 1;
}

}  // namespace

void RegisterDemoCommand(CLI::App* app, AppContext* ctx, int* exit_code) {
  auto a = std::make_shared<DemoArgs>();
  auto* demo = app->add_subcommand(
      "demo", "The main job: generate transactions, run the daily fraud pipeline, ingest the sample knowledge base, "
              "then serve both (run from the repository root)");
  demo->add_option("--kb", a->kb, "Knowledge-base folder")->capture_default_str();
  demo->add_option("--questions", a->questions, "Sample questions, one per line")->capture_default_str();
  demo->add_option("-k", a->k, "Passages per sample question")->capture_default_str();
  demo->add_option("--dag", a->dag, "The daily pipeline")->capture_default_str();
  demo->add_option("--days", a->days, "Days of transactions to generate")->check(CLI::Range(40, 3650))
      ->capture_default_str();
  demo->add_option("--customers", a->customers, "Customers in the generated world")->check(CLI::Range(100, 10000000))
      ->capture_default_str();
  demo->add_option("--terminals", a->terminals, "Terminals in the generated world")->check(CLI::Range(50, 10000000))
      ->capture_default_str();
  demo->add_option("--max-runs", a->max_runs, "Most daily runs to backfill (ending yesterday)")
      ->check(CLI::Range(1, 30))->capture_default_str();
  demo->add_option("--port", a->port, "Server port")->check(CLI::Range(0, 65535))->capture_default_str();
  demo->add_option("--host", a->host, "Server address")->capture_default_str();
  demo->add_flag("!--no-serve", a->serve, "Stop after preparing everything (no key, no server)");
  demo->callback([a, ctx, exit_code] { *exit_code = RunDemo(ctx, *a); });
}

}  // namespace lathe::app
