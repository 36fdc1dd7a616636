#include "pipeline/scheduler.h"

#include <cstdio>
#include <ctime>
#include <list>
#include <memory>
#include <set>
#include <thread>

#include "pipeline/template.h"

namespace lathe::pipeline {
namespace {

struct ActiveRun {
  std::string dag_id, run_id;
  std::thread thread;
  std::atomic<bool> done{false};
};

}  // namespace

std::vector<std::string> DueDates(const DagSpec& dag, const std::string& last_ds, int64_t now, size_t limit) {
  std::vector<std::string> out;
  if (!dag.schedule) return out;
  int64_t from;
  if (!last_ds.empty()) {
    auto d = ParseDate(last_ds);
    if (!d.ok()) return out;
    from = *d + 86400 - 1;  // intervals of later days only (one run per ds)
  } else {
    from = *ParseDate(dag.start_date) - 1;
  }
  std::set<std::string> seen;
  for (int64_t t = dag.schedule->Next(from); t >= 0; t = dag.schedule->Next(t)) {
    int64_t end = dag.schedule->Next(t);
    if (end < 0 || end > now) break;
    std::string ds = FormatDate(t);
    if (seen.insert(ds).second) out.push_back(ds);
    if (dag.catchup && out.size() >= limit) break;
  }
  if (!dag.catchup && out.size() > 1) out.erase(out.begin(), out.end() - 1);
  return out;
}

Status Scheduler::Run() {
  auto now = options_.now ? options_.now : [] { return static_cast<int64_t>(std::time(nullptr)); };
  LATHE_ASSIGN_OR_RETURN(auto db, storage::OpenDb(options_.db_url, options_.data_dir));
  StateStore store(db.get());
  std::list<ActiveRun> active;
  auto stopping = [&] { return options_.stop && options_.stop->load(); };

  auto launch = [&](const DagSpec& dag, const RunRecord& run) {
    auto& a = active.emplace_back();
    a.dag_id = dag.id;
    a.run_id = run.run_id;
    std::fprintf(stderr, "scheduler: starting run %s\n", run.run_id.c_str());
    a.thread = std::thread([this, dag, run_id = run.run_id, &a] {
      auto conn = storage::OpenDb(options_.db_url, options_.data_dir);
      if (!conn.ok()) {
        std::fprintf(stderr, "scheduler: run %s: %s\n", run_id.c_str(), conn.status().ToString().c_str());
      } else {
        ExecutorOptions eo;
        eo.lathe_binary = options_.lathe_binary;
        eo.data_dir = options_.data_dir;
        eo.db_url = options_.db_url;
        eo.stop = options_.stop;
        Executor ex(dag, conn->get(), eo);
        auto r = ex.Resume(run_id);
        if (!r.ok()) std::fprintf(stderr, "scheduler: run %s: %s\n", run_id.c_str(), r.status().ToString().c_str());
        else std::fprintf(stderr, "scheduler: run %s %s\n", run_id.c_str(), r->state.c_str());
      }
      a.done.store(true);
    });
  };
  auto reap = [&] {
    for (auto it = active.begin(); it != active.end();) {
      if (it->done.load()) {
        it->thread.join();
        it = active.erase(it);
      } else {
        ++it;
      }
    }
  };
  auto active_for = [&](const std::string& dag_id, const std::string& run_id = "") {
    int n = 0;
    for (const ActiveRun& a : active)
      if (a.dag_id == dag_id && (run_id.empty() || a.run_id == run_id)) ++n;
    return n;
  };

  Status result;
  LATHE_ASSIGN_OR_RETURN(std::vector<DagSpec> dags, LoadDagDir(options_.dags_dir, registry_));
  std::string last_error;
  while (!stopping()) {
    reap();
    // A DAG file broken while we run is reported and the last good set kept.
    auto loaded = LoadDagDir(options_.dags_dir, registry_);
    if (loaded.ok()) {
      dags = std::move(loaded).value();
    } else if (loaded.status().message() != last_error) {
      last_error = loaded.status().message();
      std::fprintf(stderr, "scheduler: %s (keeping the DAGs loaded before)\n", last_error.c_str());
    }
    const int64_t t = now();
    for (const DagSpec& dag : dags) {
      if (!dag.schedule) continue;
      // Scheduled runs a stopped scheduler left behind come first.
      LATHE_ASSIGN_OR_RETURN(auto runs, store.ListRuns(dag.id, 1000));
      for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
        const RunRecord& r = *it;
        if (r.kind != "scheduled" || (r.state != "queued" && r.state != "running")) continue;
        if (active_for(dag.id, r.run_id) || OwnerMayBeAlive(r)) continue;
        if (active_for(dag.id) >= dag.max_active_runs) break;
        launch(dag, r);
      }
      LATHE_ASSIGN_OR_RETURN(auto last, store.LastScheduledDs(dag.id));
      for (const std::string& ds : DueDates(dag, last.value_or(""), t)) {
        if (active_for(dag.id) >= dag.max_active_runs) break;
        bool created = false;
        LATHE_ASSIGN_OR_RETURN(RunRecord run, store.GetOrCreateRun(dag.id, ds, "scheduled", dag.source_path, &created));
        if (!created) continue;  // a backfill or manual run has this day already
        launch(dag, run);
      }
    }
    // once: keep passing (runs beyond max_active_runs wait for a slot) until
    // nothing is due and nothing runs.
    if (options_.once && active.empty()) return Status::OK();
    const auto tick = options_.once ? std::chrono::milliseconds(50) : options_.tick;
    for (auto waited = std::chrono::milliseconds(0); waited < tick && !stopping();
         waited += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "scheduler: stopping; waiting for %zu runs' running tries\n", active.size());
  for (ActiveRun& a : active) a.thread.join();
  return result;
}

}  // namespace lathe::pipeline
