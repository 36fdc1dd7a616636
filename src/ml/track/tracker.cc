#include "ml/track/tracker.h"

#include <algorithm>
#include <cstddef>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/clock.h"
#include "common/random_id.h"
#include "ml/track/source_version.h"

namespace lathe::ml {
namespace {

using storage::DbRow;
using storage::DbValue;

constexpr const char* kRunColumns =
    "r.run_id, e.name, r.status, r.start_time, r.end_time, r.source_version, r.data_from, r.data_to, r.test_from, "
    "r.train_rows, r.validation_rows, r.test_rows, r.error";

RunStatus ParseStatus(std::string_view s) {
  if (s == "finished") return RunStatus::kFinished;
  if (s == "failed") return RunStatus::kFailed;
  return RunStatus::kRunning;
}

RunInfo ReadRun(const DbRow& r) {
  RunInfo info;
  info.run_id = std::string(r.Text(0));
  info.experiment = std::string(r.Text(1));
  info.status = ParseStatus(r.Text(2));
  info.start_time = r.Int(3);
  info.end_time = r.Int(4);
  info.source_version = std::string(r.Text(5));
  info.data_from = r.Int(6);
  info.data_to = r.Int(7);
  info.test_from = r.Int(8);
  info.train_rows = r.Int(9);
  info.validation_rows = r.Int(10);
  info.test_rows = r.Int(11);
  info.error = std::string(r.Text(12));
  return info;
}

}  // namespace

const char* RunStatusName(RunStatus s) {
  switch (s) {
    case RunStatus::kRunning: return "running";
    case RunStatus::kFinished: return "finished";
    case RunStatus::kFailed: return "failed";
  }
  return "running";
}

Tracker::Tracker(storage::Db* db, ArtifactStore* store, Clock clock)
    : db_(db), store_(store), clock_(clock ? std::move(clock) : Clock([] { return UnixSeconds(); })) {}

Result<int64_t> Tracker::EnsureExperiment(const std::string& name) {
  if (name.empty()) return InvalidArgument("an experiment needs a name");
  auto find = [&]() -> Result<int64_t> {
    return db_->QueryInt("SELECT experiment_id FROM experiments WHERE name = $1", {name});
  };
  LATHE_ASSIGN_OR_RETURN(int64_t id, find());
  if (id != 0) return id;
  auto inserted = db_->Execute("INSERT INTO experiments (name, created_at) VALUES ($1, $2)", {name, Now()});
  LATHE_ASSIGN_OR_RETURN(id, find());  // also when another process created it first
  if (id == 0) return inserted.ok() ? Internal("experiment '" + name + "' vanished") : inserted.status();
  return id;
}

Result<std::string> Tracker::StartRun(const std::string& experiment) {
  LATHE_ASSIGN_OR_RETURN(int64_t experiment_id, EnsureExperiment(experiment));
  std::string run_id = RandomHex(16);
  LATHE_RETURN_IF_ERROR(db_->Execute("INSERT INTO runs (run_id, experiment_id, status, start_time, source_version) "
                                     "VALUES ($1, $2, 'running', $3, $4)",
                                     {run_id, experiment_id, Now(), SourceVersion()})
                            .status());
  return run_id;
}

Status Tracker::RequireRun(const std::string& run_id) {
  LATHE_ASSIGN_OR_RETURN(int64_t n, db_->QueryInt("SELECT COUNT(*) FROM runs WHERE run_id = $1", {run_id}));
  if (n == 0) return NotFound(fmt::format("no run '{}'", run_id));
  return Status::OK();
}

Status Tracker::SetDataWindow(const std::string& run_id, int64_t data_from, int64_t test_from, int64_t data_to,
                              int64_t train_rows, int64_t validation_rows, int64_t test_rows) {
  LATHE_RETURN_IF_ERROR(RequireRun(run_id));
  return db_
      ->Execute("UPDATE runs SET data_from = $2, test_from = $3, data_to = $4, train_rows = $5, validation_rows = $6, "
                "test_rows = $7 WHERE run_id = $1",
                {run_id, data_from, test_from, data_to, train_rows, validation_rows, test_rows})
      .status();
}

Status Tracker::EndRun(const std::string& run_id, RunStatus status, const std::string& error) {
  LATHE_ASSIGN_OR_RETURN(RunInfo run, GetRun(run_id));
  if (run.status != RunStatus::kRunning)
    return FailedPrecondition(fmt::format("run {} has already ended ({})", run_id, RunStatusName(run.status)));
  DbValue err = error.empty() ? DbValue{} : DbValue{error};
  return db_
      ->Execute("UPDATE runs SET status = $2, end_time = $3, error = $4 WHERE run_id = $1 AND status = 'running'",
                {run_id, std::string(RunStatusName(status)), Now(), err})
      .status();
}

Status Tracker::LogParam(const std::string& run_id, const std::string& key, const std::string& value) {
  if (key.empty()) return InvalidArgument(fmt::format("run {}: a param needs a key", run_id));
  LATHE_RETURN_IF_ERROR(RequireRun(run_id));
  auto existing = [&]() -> Result<std::optional<std::string>> {
    std::optional<std::string> v;
    LATHE_RETURN_IF_ERROR(db_->Query("SELECT value FROM run_params WHERE run_id = $1 AND key = $2", {run_id, key},
                                     [&](const DbRow& r) {
                                       v = std::string(r.Text(0));
                                       return Status::OK();
                                     }));
    return v;
  };
  auto check = [&](const std::optional<std::string>& v) -> Status {
    if (*v == value) return Status::OK();
    return InvalidArgument(fmt::format("run {}: param '{}' is already '{}'; params are write-once (refused '{}')",
                                       run_id, key, *v, value));
  };
  LATHE_ASSIGN_OR_RETURN(std::optional<std::string> before, existing());
  if (before) return check(before);
  auto inserted = db_->Execute("INSERT INTO run_params (run_id, key, value) VALUES ($1, $2, $3)", {run_id, key, value});
  if (inserted.ok()) return Status::OK();
  // Lost a race with another writer of the same key: compare with theirs.
  LATHE_ASSIGN_OR_RETURN(std::optional<std::string> after, existing());
  if (after) return check(after);
  return inserted.status();
}

Status Tracker::LogParams(const std::string& run_id, const std::map<std::string, std::string>& params) {
  for (const auto& [key, value] : params) LATHE_RETURN_IF_ERROR(LogParam(run_id, key, value));
  return Status::OK();
}

Status Tracker::LogMetric(const std::string& run_id, const std::string& key, double value, int64_t step, int64_t ts) {
  if (key.empty()) return InvalidArgument(fmt::format("run {}: a metric needs a key", run_id));
  LATHE_RETURN_IF_ERROR(RequireRun(run_id));
  return db_
      ->Execute("INSERT INTO run_metrics (run_id, key, value, step, ts) VALUES ($1, $2, $3, $4, $5)",
                {run_id, key, value, step, ts ? ts : Now()})
      .status();
}

Status Tracker::SetTag(const std::string& run_id, const std::string& key, const std::string& value) {
  if (key.empty()) return InvalidArgument(fmt::format("run {}: a tag needs a key", run_id));
  LATHE_RETURN_IF_ERROR(RequireRun(run_id));
  storage::DbTransaction tx(db_);
  LATHE_RETURN_IF_ERROR(tx.status());
  LATHE_RETURN_IF_ERROR(db_->Execute("DELETE FROM run_tags WHERE run_id = $1 AND key = $2", {run_id, key}).status());
  LATHE_RETURN_IF_ERROR(
      db_->Execute("INSERT INTO run_tags (run_id, key, value) VALUES ($1, $2, $3)", {run_id, key, value}).status());
  return tx.Commit();
}

Result<ArtifactInfo> Tracker::LogArtifact(const std::string& run_id, const std::string& name, const std::string& bytes,
                                          const std::string& media_type) {
  if (name.empty()) return InvalidArgument(fmt::format("run {}: an artifact needs a name", run_id));
  LATHE_RETURN_IF_ERROR(RequireRun(run_id));
  // Bytes first: a row never names a file that is not there.
  LATHE_ASSIGN_OR_RETURN(std::string sha, store_->Put(bytes));
  ArtifactInfo info{name, sha, static_cast<int64_t>(bytes.size()), media_type, Now()};
  std::optional<std::string> existing;
  LATHE_RETURN_IF_ERROR(db_->Query("SELECT sha256 FROM run_artifacts WHERE run_id = $1 AND name = $2", {run_id, name},
                                   [&](const DbRow& r) {
                                     existing = std::string(r.Text(0));
                                     return Status::OK();
                                   }));
  if (existing) {
    if (*existing == sha) return info;
    return AlreadyExists(fmt::format("run {}: artifact '{}' is already logged with other content", run_id, name));
  }
  LATHE_RETURN_IF_ERROR(db_->Execute("INSERT INTO run_artifacts (run_id, name, sha256, size, media_type, created_at) "
                                     "VALUES ($1, $2, $3, $4, $5, $6)",
                                     {run_id, name, sha, info.size, media_type, info.created_at})
                            .status());
  return info;
}

Result<std::string> Tracker::ReadArtifact(const std::string& run_id, const std::string& name) {
  LATHE_RETURN_IF_ERROR(RequireRun(run_id));
  std::optional<std::string> sha;
  LATHE_RETURN_IF_ERROR(db_->Query("SELECT sha256 FROM run_artifacts WHERE run_id = $1 AND name = $2", {run_id, name},
                                   [&](const DbRow& r) {
                                     sha = std::string(r.Text(0));
                                     return Status::OK();
                                   }));
  if (!sha) return NotFound(fmt::format("run {} has no artifact '{}'", run_id, name));
  auto bytes = store_->Read(*sha);
  if (!bytes.ok())
    return Status(bytes.status().code(),
                  fmt::format("run {}, artifact '{}': {}", run_id, name, bytes.status().message()));
  return bytes;
}

Result<RunInfo> Tracker::GetRun(const std::string& run_id) {
  std::optional<RunInfo> info;
  LATHE_RETURN_IF_ERROR(db_->Query(fmt::format("SELECT {} FROM runs r JOIN experiments e ON e.experiment_id = "
                                               "r.experiment_id WHERE r.run_id = $1",
                                               kRunColumns),
                                   {run_id}, [&](const DbRow& r) {
                                     info = ReadRun(r);
                                     return Status::OK();
                                   }));
  if (!info) return NotFound(fmt::format("no run '{}'", run_id));
  return *info;
}

Result<RunDetails> Tracker::GetRunDetails(const std::string& run_id) {
  RunDetails d;
  LATHE_ASSIGN_OR_RETURN(d.info, GetRun(run_id));
  LATHE_RETURN_IF_ERROR(db_->Query("SELECT key, value FROM run_params WHERE run_id = $1 ORDER BY key", {run_id},
                                   [&](const DbRow& r) {
                                     d.params[std::string(r.Text(0))] = std::string(r.Text(1));
                                     return Status::OK();
                                   }));
  LATHE_RETURN_IF_ERROR(db_->Query("SELECT key, value, step, ts FROM run_metrics WHERE run_id = $1 "
                                   "ORDER BY key, step, metric_id",
                                   {run_id}, [&](const DbRow& r) {
                                     d.metrics.push_back({std::string(r.Text(0)), r.Double(1), r.Int(2), r.Int(3)});
                                     return Status::OK();
                                   }));
  LATHE_RETURN_IF_ERROR(db_->Query("SELECT key, value FROM run_tags WHERE run_id = $1 ORDER BY key", {run_id},
                                   [&](const DbRow& r) {
                                     d.tags[std::string(r.Text(0))] = std::string(r.Text(1));
                                     return Status::OK();
                                   }));
  LATHE_RETURN_IF_ERROR(db_->Query("SELECT name, sha256, size, media_type, created_at FROM run_artifacts "
                                   "WHERE run_id = $1 ORDER BY name",
                                   {run_id}, [&](const DbRow& r) {
                                     d.artifacts.push_back({std::string(r.Text(0)), std::string(r.Text(1)), r.Int(2),
                                                            std::string(r.Text(3)), r.Int(4)});
                                     return Status::OK();
                                   }));
  return d;
}

Result<std::vector<RunInfo>> Tracker::ListRuns(const std::string& experiment) {
  return QueryRuns(experiment, std::nullopt, 0);
}

Result<std::vector<RunInfo>> Tracker::QueryRuns(const std::string& experiment, std::optional<RunStatus> status,
                                                size_t limit) {
  std::vector<DbValue> params;
  std::vector<std::string> where;
  if (!experiment.empty()) {
    LATHE_ASSIGN_OR_RETURN(int64_t n, db_->QueryInt("SELECT COUNT(*) FROM experiments WHERE name = $1", {experiment}));
    if (n == 0) return NotFound(fmt::format("no experiment '{}'", experiment));
    params.push_back(experiment);
    where.push_back(fmt::format("e.name = ${}", params.size()));
  }
  if (status) {
    const std::string name = RunStatusName(*status);
    params.push_back(name);
    where.push_back(fmt::format("r.status = ${}", params.size()));
  }
  std::string sql = fmt::format("SELECT {} FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id ",
                                kRunColumns);
  if (!where.empty()) sql += fmt::format("WHERE {} ", fmt::join(where, " AND "));
  sql += "ORDER BY r.run_number DESC";
  if (limit > 0) sql += fmt::format(" LIMIT {}", limit);
  std::vector<RunInfo> runs;
  LATHE_RETURN_IF_ERROR(db_->Query(sql, params, [&](const DbRow& r) {
    runs.push_back(ReadRun(r));
    return Status::OK();
  }));
  return runs;
}

namespace {

// Calls query(params, "($1, ..., $n)") for bounded slices of ids, which keeps
// each query well inside both engines' limits on bound parameters.
Status ForEachIdList(const std::vector<std::string>& ids,
                     const std::function<Status(const std::vector<DbValue>&, const std::string&)>& query) {
  constexpr size_t kIdsPerQuery = 500;
  for (size_t begin = 0; begin < ids.size(); begin += kIdsPerQuery) {
    const size_t end = std::min(ids.size(), begin + kIdsPerQuery);
    std::vector<DbValue> params(ids.begin() + static_cast<std::ptrdiff_t>(begin),
                                ids.begin() + static_cast<std::ptrdiff_t>(end));
    std::vector<std::string> slots;
    for (size_t i = 1; i <= params.size(); ++i) slots.push_back(fmt::format("${}", i));
    LATHE_RETURN_IF_ERROR(query(params, fmt::format("({})", fmt::join(slots, ", "))));
  }
  return Status::OK();
}

}  // namespace

Result<std::map<std::string, std::map<std::string, double>>> Tracker::LastMetrics(
    const std::vector<std::string>& run_ids) {
  std::map<std::string, std::map<std::string, double>> out;
  LATHE_RETURN_IF_ERROR(ForEachIdList(run_ids, [&](const std::vector<DbValue>& ids, const std::string& in) {
    // In the index's order (run, key, step), then logging order: the last
    // row of each (run, key) is its last point.
    return db_->Query(fmt::format("SELECT run_id, key, value FROM run_metrics WHERE run_id IN {} "
                                  "ORDER BY run_id, key, step, metric_id",
                                  in),
                      ids, [&](const DbRow& r) {
                        out[std::string(r.Text(0))][std::string(r.Text(1))] = r.Double(2);
                        return Status::OK();
                      });
  }));
  return out;
}

Result<std::vector<RunSummary>> Tracker::ListRunSummaries(const std::string& experiment,
                                                          std::optional<RunStatus> status, size_t limit) {
  LATHE_ASSIGN_OR_RETURN(std::vector<RunInfo> runs, QueryRuns(experiment, status, limit));
  std::vector<std::string> run_ids;
  for (const RunInfo& r : runs) run_ids.push_back(r.run_id);
  LATHE_ASSIGN_OR_RETURN(auto last, LastMetrics(run_ids));
  std::map<std::string, std::map<std::string, std::string>> tags;
  LATHE_RETURN_IF_ERROR(ForEachIdList(run_ids, [&](const std::vector<DbValue>& ids, const std::string& in) {
    return db_->Query(fmt::format("SELECT run_id, key, value FROM run_tags WHERE run_id IN {}", in), ids,
                      [&](const DbRow& r) {
                        tags[std::string(r.Text(0))][std::string(r.Text(1))] = std::string(r.Text(2));
                        return Status::OK();
                      });
  }));
  std::vector<RunSummary> out;
  out.reserve(runs.size());
  for (RunInfo& r : runs) {
    RunSummary s;
    if (auto it = last.find(r.run_id); it != last.end()) s.last_metrics = std::move(it->second);
    if (auto it = tags.find(r.run_id); it != tags.end()) s.tags = std::move(it->second);
    s.info = std::move(r);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<std::string>> Tracker::ListExperiments() {
  std::vector<std::string> names;
  LATHE_RETURN_IF_ERROR(db_->Query("SELECT name FROM experiments ORDER BY name", {}, [&](const DbRow& r) {
    names.emplace_back(r.Text(0));
    return Status::OK();
  }));
  return names;
}

}  // namespace lathe::ml
