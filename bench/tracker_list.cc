// tracker_list: a page of runs with their tags and last metrics, read the way
// GET /v1/runs and `lathe runs list` read it (Tracker::ListRunSummaries: 1 + 2
// queries per 500 runs) against the per-run way they read it before
// (ListRuns, then GetRunDetails for each run on the page: 5 queries a run).
// Fills experiment "bench" with --runs runs (--metrics metrics and --tags tags
// each, like a daily training run) unless it already has them; both reads are
// timed alternately, and their answers compared. Run from the repository root:
//   ./build/bench/tracker_list --data-dir /tmp/tl [--db postgres://...] [--runs 365 --limit 100]
// bench/tracker_list.sh runs it on SQLite and on a throwaway PostgreSQL.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ml/track/ml_store.h"

using namespace lathe;
using Clock = std::chrono::steady_clock;

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Fail(const Status& st) {
  std::fprintf(stderr, "tracker_list: %s\n", st.message().c_str());
  return 1;
}

// The read before ListRunSummaries: every run's whole details for its tags
// and the last value of each key.
Result<std::vector<ml::RunSummary>> PerRunDetails(ml::Tracker* tracker, size_t limit) {
  LATHE_ASSIGN_OR_RETURN(std::vector<ml::RunInfo> runs, tracker->ListRuns("bench"));
  std::vector<ml::RunSummary> out;
  for (const ml::RunInfo& r : runs) {
    if (out.size() >= limit) break;
    LATHE_ASSIGN_OR_RETURN(ml::RunDetails d, tracker->GetRunDetails(r.run_id));
    ml::RunSummary s{d.info, {}, d.tags};
    for (const ml::MetricPoint& m : d.metrics) s.last_metrics[m.key] = m.value;
    out.push_back(std::move(s));
  }
  return out;
}

bool Same(const std::vector<ml::RunSummary>& a, const std::vector<ml::RunSummary>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].info.run_id != b[i].info.run_id || a[i].tags != b[i].tags || a[i].last_metrics != b[i].last_metrics)
      return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Reading a page of runs: ListRunSummaries vs GetRunDetails per run"};
  std::string db_url, data_dir;
  int runs = 365, metrics = 20, tags = 4, repeat = 20;
  size_t limit = 100;
  app.add_option("--db", db_url, "Database URL (default DATA_DIR/lathe.db)");
  app.add_option("--data-dir", data_dir, "Data directory")->required();
  app.add_option("--runs", runs, "Runs in experiment 'bench'")->check(CLI::Range(1, 100000));
  app.add_option("--metrics", metrics, "Metrics per run")->check(CLI::Range(0, 1000));
  app.add_option("--tags", tags, "Tags per run")->check(CLI::Range(0, 1000));
  app.add_option("--limit", limit, "Runs per page")->check(CLI::Range(1, 100000));
  app.add_option("--repeat", repeat, "Timed reads of each kind")->check(CLI::Range(1, 10000));
  CLI11_PARSE(app, argc, argv);

  std::filesystem::create_directories(data_dir);
  auto store = ml::OpenMlStore(db_url, data_dir);
  if (!store.ok()) return Fail(store.status());
  ml::Tracker* tracker = store->tracker.get();

  auto existing = tracker->ListRuns();
  if (!existing.ok()) return Fail(existing.status());
  int have = 0;
  for (const ml::RunInfo& r : *existing) have += r.experiment == "bench";
  const auto fill_start = Clock::now();
  for (int i = have; i < runs; ++i) {
    auto run = tracker->StartRun("bench");
    if (!run.ok()) return Fail(run.status());
    for (int m = 0; m < metrics; ++m) {
      Status st = tracker->LogMetric(*run, fmt::format("metric.{:02d}", m), 0.001 * (i + m));
      if (!st.ok()) return Fail(st);
    }
    for (int t = 0; t < tags; ++t) {
      Status st = tracker->SetTag(*run, fmt::format("tag.{}", t), fmt::format("value {}", i));
      if (!st.ok()) return Fail(st);
    }
    Status st = tracker->EndRun(*run, ml::RunStatus::kFinished);
    if (!st.ok()) return Fail(st);
  }
  const double fill_s = std::chrono::duration<double>(Clock::now() - fill_start).count();

  std::vector<double> per_run_ms, summaries_ms;
  for (int r = 0; r < repeat; ++r) {
    auto t0 = Clock::now();
    auto a = PerRunDetails(tracker, limit);
    auto t1 = Clock::now();
    auto b = tracker->ListRunSummaries("bench", std::nullopt, limit);
    auto t2 = Clock::now();
    if (!a.ok()) return Fail(a.status());
    if (!b.ok()) return Fail(b.status());
    if (!Same(*a, *b)) return Fail(Internal("the two reads disagree"));
    per_run_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    summaries_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  const double old_ms = Median(per_run_ms), new_ms = Median(summaries_ms);
  std::printf(
      "{\"engine\": \"%s\", \"runs\": %d, \"metrics\": %d, \"tags\": %d, \"limit\": %zu, \"repeat\": %d, "
      "\"fill_seconds\": %.2f, \"per_run_details_p50_ms\": %.3f, \"list_run_summaries_p50_ms\": %.3f, "
      "\"speedup\": %.1f}\n",
      store->db->engine() == storage::DbEngine::kPostgres ? "postgres" : "sqlite", runs, metrics, tags, limit, repeat,
      fill_s, old_ms, new_ms, old_ms / new_ms);
  return 0;
}
