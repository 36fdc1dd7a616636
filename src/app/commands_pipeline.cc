// pipeline run / backfill / status / logs / resume, scheduler, and task run:
// the DAG engine's commands (docs/pipelines.md). Each opens the database named
// by --db (default: the SQLite file in the data directory) for the state
// tables; DAGs are a YAML path or an id under --dags (default pipelines/).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <list>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/commands.h"
#include "app/ml_json.h"
#include "app/pipeline_operators.h"
#include "common/file_util.h"
#include "pipeline/dag_spec.h"
#include "pipeline/executor.h"
#include "pipeline/scheduler.h"
#include "pipeline/state_store.h"
#include "pipeline/task_runner.h"
#include "pipeline/template.h"
#include "storage/db.h"

namespace lathe::app {
namespace {

using nlohmann::json;
namespace pl = lathe::pipeline;

std::atomic<bool> g_stop{false};

void OnStopSignal(int) { g_stop.store(true); }

void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

struct Common {
  std::string db;
  std::string dags = "pipelines";
  bool json = false;
};

void AddCommon(CLI::App* cmd, Common* c, bool dags = true) {
  cmd->add_option("--db", c->db, "Database URL for the state tables: postgres://..., sqlite:PATH (default: DATA_DIR/lathe.db)");
  if (dags) cmd->add_option("--dags", c->dags, "Folder of DAG files to find DAG ids in")->capture_default_str();
  cmd->add_flag("--json", c->json, "Print the result as JSON");
}

std::string AbsDataDir(const AppContext& ctx) {
  std::error_code ec;
  std::filesystem::create_directories(ctx.settings.data_dir, ec);
  return std::filesystem::absolute(ctx.settings.data_dir).lexically_normal().string();
}

Result<std::unique_ptr<storage::Db>> Open(const AppContext& ctx, const std::string& url) {
  return storage::OpenDb(url, AbsDataDir(ctx));
}

void PrintRun(pl::StateStore* store, const pl::RunRecord& r) {
  std::printf("%s  %-8s %-9s started %s ended %s\n", r.run_id.c_str(), r.state.c_str(), r.kind.c_str(),
              FormatMillis(r.started_at).c_str(), FormatMillis(r.ended_at).c_str());
  if (auto tis = store->TaskInstances(r.run_id); tis.ok())
    for (const auto& ti : *tis)
      std::printf("  %-20s %-16s tries %lld\n", ti.task_id.c_str(), ti.state.c_str(), static_cast<long long>(ti.tries));
}

pl::ExecutorOptions ExecOptions(const AppContext& ctx, const Common& c, bool force) {
  pl::ExecutorOptions o;
  o.data_dir = AbsDataDir(ctx);
  o.db_url = c.db;
  o.force = force;
  o.stop = &g_stop;
  return o;
}

// "2026-11-05T00:30:00Z", "2026-11-05T00:30Z" or "2026-11-05": Unix seconds.
Result<int64_t> ParseInstant(const std::string& text) {
  auto day = pl::ParseDate(text.substr(0, 10));
  if (!day.ok()) return InvalidArgument("--now '" + text + "' is not YYYY-MM-DD[THH:MM[:SS]Z]");
  if (text.size() == 10) return *day;
  int h = 0, m = 0, s = 0;
  char z = 0;
  int n = std::sscanf(text.c_str() + 10, "T%2d:%2d:%2d%c", &h, &m, &s, &z);
  if (n < 4) {
    s = 0;
    n = std::sscanf(text.c_str() + 10, "T%2d:%2d%c", &h, &m, &z);
    if (n < 3) return InvalidArgument("--now '" + text + "' is not YYYY-MM-DD[THH:MM[:SS]Z]");
  }
  if (z != 'Z' || h > 23 || m > 59 || s > 59) return InvalidArgument("--now '" + text + "' is not YYYY-MM-DD[THH:MM[:SS]Z]");
  return *day + h * 3600 + m * 60 + s;
}

void RegisterRun(CLI::App* pipeline, AppContext* ctx, int* exit_code) {
  struct Args {
    Common c;
    std::string dag, date;
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = pipeline->add_subcommand("run", "Run (or continue) the DAG's run for one date; exit 1 if it fails");
  cmd->add_option("dag", a->dag, "DAG file or id")->required();
  cmd->add_option("--date", a->date, "Run date (ds), YYYY-MM-DD")->required();
  cmd->add_flag("--force", a->force, "Run every task again, even those that succeeded");
  AddCommon(cmd, &a->c);
  cmd->callback([a, ctx, exit_code] {
    auto fail = [&](const Status& st) { *exit_code = ReportError(st); };
    if (auto d = pl::ParseDate(a->date); !d.ok()) return fail(InvalidArgument("--date: " + d.status().message()));
    auto dag = pl::FindDag(a->dag, a->c.dags, PipelineOperators());
    if (!dag.ok()) return fail(dag.status());
    auto db = Open(*ctx, a->c.db);
    if (!db.ok()) return fail(db.status());
    InstallStopHandlers();
    pl::Executor ex(*dag, db->get(), ExecOptions(*ctx, a->c, a->force));
    auto run = ex.Run(a->date, "external");
    if (!run.ok()) return fail(run.status());
    pl::StateStore store(db->get());
    if (a->c.json) std::cout << PipelineRunJson(&store, *run).dump(2) << "\n";
    else PrintRun(&store, *run);
    *exit_code = run->state == "success" ? 0 : 1;
  });
}

void RegisterBackfill(CLI::App* pipeline, AppContext* ctx, int* exit_code) {
  struct Args {
    Common c;
    std::string dag, from, to;
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = pipeline->add_subcommand(
      "backfill", "Run the DAG for every day from --from to --to (inclusive), max_active_runs at a time");
  cmd->add_option("dag", a->dag, "DAG file or id")->required();
  cmd->add_option("--from", a->from, "First date, YYYY-MM-DD")->required();
  cmd->add_option("--to", a->to, "Last date (inclusive), YYYY-MM-DD")->required();
  cmd->add_flag("--force", a->force, "Run every task again, even those that succeeded");
  AddCommon(cmd, &a->c);
  cmd->callback([a, ctx, exit_code] {
    auto fail = [&](const Status& st) { *exit_code = ReportError(st); };
    auto from = pl::ParseDate(a->from);
    if (!from.ok()) return fail(InvalidArgument("--from: " + from.status().message()));
    auto to = pl::ParseDate(a->to);
    if (!to.ok()) return fail(InvalidArgument("--to: " + to.status().message()));
    if (*to < *from) return fail(InvalidArgument("--to " + a->to + " is before --from " + a->from));
    if ((*to - *from) / 86400 >= 3660) return fail(InvalidArgument("backfill of more than 3660 days refused"));
    auto dag = pl::FindDag(a->dag, a->c.dags, PipelineOperators());
    if (!dag.ok()) return fail(dag.status());
    auto db = Open(*ctx, a->c.db);
    if (!db.ok()) return fail(db.status());
    InstallStopHandlers();
    std::vector<std::string> dates;
    for (int64_t t = *from; t <= *to; t += 86400) dates.push_back(pl::FormatDate(t));
    // max_active_runs workers take the dates in order.
    std::atomic<size_t> next{0};
    std::vector<std::string> errors(dates.size());
    std::vector<std::thread> workers;
    for (int w = 0; w < std::min<int>(dag->max_active_runs, static_cast<int>(dates.size())); ++w)
      workers.emplace_back([&] {
        auto conn = Open(*ctx, a->c.db);
        for (size_t i; !g_stop.load() && (i = next.fetch_add(1)) < dates.size();) {
          if (!conn.ok()) {
            errors[i] = conn.status().ToString();
            continue;
          }
          pl::Executor ex(*dag, conn->get(), ExecOptions(*ctx, a->c, a->force));
          auto r = ex.Run(dates[i], "backfill");
          if (!r.ok()) errors[i] = r.status().ToString();
        }
      });
    for (auto& w : workers) w.join();
    pl::StateStore store(db->get());
    json out = json::array();
    int failed = 0;
    for (size_t i = 0; i < dates.size(); ++i) {
      auto run = store.GetRun(pl::StateStore::RunId(dag->id, dates[i]));
      if (!errors[i].empty()) std::fprintf(stderr, "lathe: %s: %s\n", dates[i].c_str(), errors[i].c_str());
      if (!run.ok() || !*run) {
        ++failed;
        continue;
      }
      failed += (*run)->state != "success";
      if (a->c.json) out.push_back(PipelineRunJson(&store, **run));
      else PrintRun(&store, **run);
    }
    if (a->c.json) std::cout << out.dump(2) << "\n";
    *exit_code = failed ? 1 : 0;
  });
}

void RegisterStatus(CLI::App* pipeline, AppContext* ctx, int* exit_code) {
  struct Args {
    Common c;
    std::string dag;
    int limit = 20;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = pipeline->add_subcommand("status", "Runs (newest first) with the state of each task");
  cmd->add_option("dag", a->dag, "Only this DAG id");
  cmd->add_option("--limit", a->limit, "Most runs to show")->capture_default_str()->check(CLI::Range(1, 100000));
  AddCommon(cmd, &a->c, false);
  cmd->callback([a, ctx, exit_code] {
    auto db = Open(*ctx, a->c.db);
    if (!db.ok()) return void(*exit_code = ReportError(db.status()));
    pl::StateStore store(db->get());
    auto runs = store.ListRuns(a->dag, a->limit);
    if (!runs.ok()) return void(*exit_code = ReportError(runs.status()));
    json out = json::array();
    for (const auto& r : *runs) {
      if (a->c.json) out.push_back(PipelineRunJson(&store, r));
      else PrintRun(&store, r);
    }
    if (a->c.json) std::cout << out.dump(2) << "\n";
    else if (runs->empty()) std::printf("no runs%s\n", a->dag.empty() ? "" : (" of " + a->dag).c_str());
  });
}

void RegisterLogs(CLI::App* pipeline, AppContext* ctx, int* exit_code) {
  struct Args {
    Common c;
    std::string run, task;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = pipeline->add_subcommand("logs", "Every try of a run (or of one task) with its log");
  cmd->add_option("run", a->run, "Run id (DAG@YYYY-MM-DD)")->required();
  cmd->add_option("task", a->task, "Only this task");
  AddCommon(cmd, &a->c, false);
  cmd->callback([a, ctx, exit_code] {
    auto db = Open(*ctx, a->c.db);
    if (!db.ok()) return void(*exit_code = ReportError(db.status()));
    pl::StateStore store(db->get());
    auto run = store.GetRun(a->run);
    if (!run.ok()) return void(*exit_code = ReportError(run.status()));
    if (!*run) return void(*exit_code = ReportError(NotFound("run " + a->run + ": no such run")));
    auto tries = store.Tries(a->run, a->task);
    if (!tries.ok()) return void(*exit_code = ReportError(tries.status()));
    if (tries->empty() && !a->task.empty())
      return void(*exit_code = ReportError(NotFound("run " + a->run + " has no tries of task '" + a->task + "'")));
    json out = json::array();
    for (const auto& t : *tries) {
      json j = TryJson(t);
      if (a->c.json) {
        out.push_back(std::move(j));
      } else {
        const std::string text = j["log"].get<std::string>();
        std::printf("== %s try %lld: %s%s%s (%s .. %s) %s\n", t.task_id.c_str(), static_cast<long long>(t.try_number),
                    t.state.c_str(), t.exit_reason.empty() ? "" : ": ", t.exit_reason.c_str(),
                    FormatMillis(t.started_at).c_str(), FormatMillis(t.ended_at).c_str(), t.log_path.c_str());
        std::fwrite(text.data(), 1, text.size(), stdout);
      }
    }
    if (a->c.json) std::cout << out.dump(2) << "\n";
  });
}

void RegisterResume(CLI::App* pipeline, AppContext* ctx, int* exit_code) {
  struct Args {
    Common c;
    std::string run;
    bool takeover = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = pipeline->add_subcommand(
      "resume", "Continue a run from the tasks that did not succeed (after a crash, a stop or a failure)");
  cmd->add_option("run", a->run, "Run id (DAG@YYYY-MM-DD)")->required();
  cmd->add_flag("--takeover", a->takeover, "Take the run over from an executor on another host that is known to be dead");
  AddCommon(cmd, &a->c);
  cmd->callback([a, ctx, exit_code] {
    auto fail = [&](const Status& st) { *exit_code = ReportError(st); };
    auto db = Open(*ctx, a->c.db);
    if (!db.ok()) return fail(db.status());
    pl::StateStore store(db->get());
    auto run = store.GetRun(a->run);
    if (!run.ok()) return fail(run.status());
    if (!*run) return fail(NotFound("run " + a->run + ": no such run"));
    // The DAG file the run was made from; else look the id up.
    std::error_code ec;
    auto dag = !(*run)->dag_path.empty() && std::filesystem::exists((*run)->dag_path, ec)
                   ? pl::LoadDagFile((*run)->dag_path, PipelineOperators())
                   : pl::FindDag((*run)->dag_id, a->c.dags, PipelineOperators());
    if (!dag.ok()) return fail(dag.status());
    InstallStopHandlers();
    pl::ExecutorOptions options = ExecOptions(*ctx, a->c, false);
    options.takeover = a->takeover;
    pl::Executor ex(*dag, db->get(), options);
    auto done = ex.Resume(a->run);
    if (!done.ok()) return fail(done.status());
    if (a->c.json) std::cout << PipelineRunJson(&store, *done).dump(2) << "\n";
    else PrintRun(&store, *done);
    *exit_code = done->state == "success" ? 0 : 1;
  });
}

void RegisterScheduler(CLI::App* app, AppContext* ctx, int* exit_code) {
  struct Args {
    Common c;
    std::string now, tick = "10s";
    bool once = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app->add_subcommand(
      "scheduler", "Start DAG runs on their schedules (with catch-up); SIGTERM stops it, letting running tries finish");
  cmd->add_option("--dags", a->c.dags, "Folder of DAG files")->capture_default_str();
  cmd->add_option("--db", a->c.db, "Database URL for the state tables (default: DATA_DIR/lathe.db)");
  cmd->add_option("--now", a->now, "Pretend the clock starts at this instant (YYYY-MM-DDTHH:MM:SSZ), for tests and drills");
  cmd->add_option("--tick", a->tick, "How often to look for due runs (duration)")->capture_default_str();
  cmd->add_flag("--once", a->once, "One scheduling pass: start what is due, wait for it, exit");
  cmd->callback([a, ctx, exit_code] {
    auto fail = [&](const Status& st) { *exit_code = ReportError(st); };
    auto tick = pl::ParseDuration(a->tick);
    if (!tick.ok()) return fail(InvalidArgument("--tick: " + tick.status().message()));
    pl::SchedulerOptions o;
    o.dags_dir = a->c.dags;
    o.data_dir = AbsDataDir(*ctx);
    o.db_url = a->c.db;
    o.tick = *tick;
    o.once = a->once;
    o.stop = &g_stop;
    if (!a->now.empty()) {
      auto base = ParseInstant(a->now);
      if (!base.ok()) return fail(base.status());
      auto start = std::chrono::steady_clock::now();
      int64_t b = *base;
      o.now = [b, start] {
        return b + std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start).count();
      };
    }
    // The DAG folder must load before we start, so a typo fails fast.
    if (auto dags = pl::LoadDagDir(o.dags_dir, PipelineOperators()); !dags.ok()) return fail(dags.status());
    InstallStopHandlers();
    std::fprintf(stderr, "scheduler: watching %s\n", o.dags_dir.c_str());
    pl::Scheduler scheduler(PipelineOperators(), o);
    if (Status st = scheduler.Run(); !st.ok()) return fail(st);
    std::fprintf(stderr, "scheduler: stopped\n");
  });
}

void RegisterTaskRun(CLI::App* app, AppContext* ctx, int* exit_code) {
  struct Args {
    Common c;
    std::string dag, task, date;
    int64_t try_number = 0;
    bool force = false, under_executor = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* task = app->add_subcommand("task", "One task of a DAG (for Airflow, Argo, Kubernetes)");
  task->require_subcommand(1);
  CLI::App* cmd = task->add_subcommand("run", "Run one try of one task for a date, recorded like any other; exit 1 if it fails");
  cmd->add_option("dag", a->dag, "DAG file or id")->required();
  cmd->add_option("task", a->task, "Task id")->required();
  cmd->add_option("--date", a->date, "Run date (ds), YYYY-MM-DD")->required();
  cmd->add_flag("--force", a->force, "Run even if the task already succeeded for this date");
  cmd->add_option("--try", a->try_number, "Try number (set by the executor)");
  cmd->add_flag("--under-executor", a->under_executor, "Set by the executor: it checks dependencies and run state");
  AddCommon(cmd, &a->c);
  cmd->callback([a, ctx, exit_code] {
    auto fail = [&](const Status& st) { *exit_code = ReportError(st); };
    if (auto d = pl::ParseDate(a->date); !d.ok()) return fail(InvalidArgument("--date: " + d.status().message()));
    auto dag = pl::FindDag(a->dag, a->c.dags, PipelineOperators());
    if (!dag.ok()) return fail(dag.status());
    auto db = Open(*ctx, a->c.db);
    if (!db.ok()) return fail(db.status());
    InstallStopHandlers();
    pl::TryOptions o;
    o.data_dir = AbsDataDir(*ctx);
    o.db_url = a->c.db;
    o.try_number = a->try_number;
    o.force = a->force;
    o.standalone = !a->under_executor;
    o.cancel = &g_stop;
    auto r = pl::RunTaskTry(*dag, a->task, a->date, PipelineOperators(), db->get(), o);
    if (!r.ok()) return fail(r.status());
    if (a->c.json) {
      std::cout << json{{"run_id", r->run_id}, {"task_id", a->task}, {"try_number", r->try_number},
                        {"skipped", r->skipped}, {"state", r->state}, {"reason", r->reason}, {"log_path", r->log_path}}
                       .dump(2)
                << "\n";
    } else if (r->skipped) {
      std::printf("%s %s: skipped, %s\n", r->run_id.c_str(), a->task.c_str(), r->reason.c_str());
    } else {
      std::printf("%s %s try %lld: %s%s%s\n", r->run_id.c_str(), a->task.c_str(), static_cast<long long>(r->try_number),
                  r->state.c_str(), r->reason.empty() ? "" : ": ", r->reason.c_str());
    }
    *exit_code = r->state == "success" ? 0 : 1;
  });
}

}  // namespace

void RegisterPipelineCommands(CLI::App* app, AppContext* ctx, int* exit_code) {
  CLI::App* pipeline = app->add_subcommand("pipeline", "Run DAGs: run, backfill, status, logs, resume");
  pipeline->require_subcommand(1);
  RegisterRun(pipeline, ctx, exit_code);
  RegisterBackfill(pipeline, ctx, exit_code);
  RegisterStatus(pipeline, ctx, exit_code);
  RegisterLogs(pipeline, ctx, exit_code);
  RegisterResume(pipeline, ctx, exit_code);
  RegisterScheduler(app, ctx, exit_code);
  RegisterTaskRun(app, ctx, exit_code);
}

}  // namespace lathe::app
