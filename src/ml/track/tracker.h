// Tracker: experiment tracking in the ML store (tables in docs/tracking.md):
// experiments, runs (status, times, source version, data window, row counts,
// error), write-once params, metrics with step and timestamp, tags, and
// artifacts whose bytes live in an ArtifactStore. One Tracker wraps one Db
// connection and is therefore not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "ml/track/artifact_store.h"
#include "storage/db.h"

namespace lathe::ml {

enum class RunStatus { kRunning, kFinished, kFailed };
const char* RunStatusName(RunStatus s);

struct RunInfo {
  std::string run_id;
  std::string experiment;
  RunStatus status = RunStatus::kRunning;
  int64_t start_time = 0, end_time = 0;  // seconds; end 0 while running
  std::string source_version;
  // The data the run trained and tested on: [data_from, data_to), the test
  // window being [test_from, data_to). 0 until SetDataWindow.
  int64_t data_from = 0, data_to = 0, test_from = 0;
  int64_t train_rows = 0, validation_rows = 0, test_rows = 0;
  std::string error;  // why a failed run failed
};

struct MetricPoint {
  std::string key;
  double value = 0;
  int64_t step = 0;
  int64_t ts = 0;
};

struct ArtifactInfo {
  std::string name;
  std::string sha256;
  int64_t size = 0;
  std::string media_type;
  int64_t created_at = 0;
};

struct RunDetails {
  RunInfo info;
  std::map<std::string, std::string> params;
  std::vector<MetricPoint> metrics;  // by key, then step, then logging order
  std::map<std::string, std::string> tags;
  std::vector<ArtifactInfo> artifacts;  // by name
};

// What a list of runs shows: each metric's last value (highest step; the
// latest logged on a tie) and the tags, without params, history or artifacts.
struct RunSummary {
  RunInfo info;
  std::map<std::string, double> last_metrics;
  std::map<std::string, std::string> tags;
};

class Tracker {
 public:
  using Clock = std::function<int64_t()>;  // Unix seconds
  // db and store must outlive the tracker. clock defaults to the wall clock.
  Tracker(storage::Db* db, ArtifactStore* store, Clock clock = {});

  // Starts a run in experiment (created when new) with status running and
  // this binary's SourceVersion(); returns its id (32 hex digits).
  Result<std::string> StartRun(const std::string& experiment);
  Status SetDataWindow(const std::string& run_id, int64_t data_from, int64_t test_from, int64_t data_to,
                       int64_t train_rows, int64_t validation_rows, int64_t test_rows);
  // Ends a run: kFinished, or kFailed with the error. FailedPrecondition when
  // the run has already ended.
  Status EndRun(const std::string& run_id, RunStatus status, const std::string& error = "");

  // Params are write-once: the same key with the same value again is a
  // no-op, with another value InvalidArgument naming both values.
  Status LogParam(const std::string& run_id, const std::string& key, const std::string& value);
  Status LogParams(const std::string& run_id, const std::map<std::string, std::string>& params);
  // Appends a metric value; ts 0 = now.
  Status LogMetric(const std::string& run_id, const std::string& key, double value, int64_t step = 0, int64_t ts = 0);
  // Sets a tag (tags may be overwritten).
  Status SetTag(const std::string& run_id, const std::string& key, const std::string& value);
  // Stores bytes in the artifact store and records them on the run under
  // name. Logging the same name again with the same bytes is a no-op; with
  // other bytes AlreadyExists.
  Result<ArtifactInfo> LogArtifact(const std::string& run_id, const std::string& name, const std::string& bytes,
                                   const std::string& media_type);
  // The verified bytes of a run's artifact. NotFound for an unknown run or
  // name; Corruption naming the run, the artifact and its file when damaged.
  Result<std::string> ReadArtifact(const std::string& run_id, const std::string& name);

  // NotFound for an unknown run id (every call above on an unknown run too).
  Result<RunInfo> GetRun(const std::string& run_id);
  Result<RunDetails> GetRunDetails(const std::string& run_id);
  // Runs newest first; experiment "" = all. NotFound for an unknown experiment.
  Result<std::vector<RunInfo>> ListRuns(const std::string& experiment = "");
  // Runs newest first with their summaries, in 1 + 2 queries per 500 runs
  // (not per run). experiment "" = all (NotFound for an unknown one); status
  // nullopt = any; limit 0 = no limit.
  Result<std::vector<RunSummary>> ListRunSummaries(const std::string& experiment = "",
                                                   std::optional<RunStatus> status = std::nullopt, size_t limit = 0);
  Result<std::vector<std::string>> ListExperiments();
  // Each run's last value of each metric key (highest step; the latest
  // logged on a tie), by run id; runs without metrics, or unknown, are absent.
  // One query per 500 ids.
  Result<std::map<std::string, std::map<std::string, double>>> LastMetrics(const std::vector<std::string>& run_ids);

  storage::Db* db() const { return db_; }
  ArtifactStore* store() const { return store_; }

 private:
  Status RequireRun(const std::string& run_id);
  Result<std::vector<RunInfo>> QueryRuns(const std::string& experiment, std::optional<RunStatus> status,
                                         size_t limit);
  Result<int64_t> EnsureExperiment(const std::string& name);
  int64_t Now() const { return clock_(); }

  storage::Db* db_;
  ArtifactStore* store_;
  Clock clock_;
};

}  // namespace lathe::ml
