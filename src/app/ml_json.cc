#include "app/ml_json.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "common/file_util.h"
#include "ml/data/transaction.h"

namespace lathe::app {

using nlohmann::json;

json OptionalJson(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }

std::string DayOrDash(int64_t ts) { return ts ? ml::FormatDay(ts) : "-"; }

std::string LastDayOrDash(int64_t to) { return to ? ml::FormatDay(to - ml::kSecondsPerDay) : "-"; }

json RunJson(const ml::RunInfo& r) {
  return json{{"run_id", r.run_id},
              {"experiment", r.experiment},
              {"status", ml::RunStatusName(r.status)},
              {"start_time", r.start_time},
              {"end_time", r.end_time},
              {"source_version", r.source_version},
              {"data_from", DayOrDash(r.data_from)},
              {"test_from", DayOrDash(r.test_from)},
              {"data_to", LastDayOrDash(r.data_to)},
              {"rows", {{"train", r.train_rows}, {"validation", r.validation_rows}, {"test", r.test_rows}}},
              {"error", r.error}};
}

std::map<std::string, double> LastMetrics(const ml::RunDetails& d) {
  std::map<std::string, double> out;
  for (const ml::MetricPoint& m : d.metrics) out[m.key] = m.value;
  return out;
}

json RunDetailsJson(const ml::RunDetails& d) {
  json j = RunJson(d.info);
  j["params"] = d.params;
  json metrics = json::array();
  for (const ml::MetricPoint& m : d.metrics)
    metrics.push_back({{"key", m.key}, {"value", m.value}, {"step", m.step}, {"ts", m.ts}});
  j["metrics"] = metrics;
  j["tags"] = d.tags;
  json artifacts = json::array();
  for (const ml::ArtifactInfo& a : d.artifacts)
    artifacts.push_back({{"name", a.name}, {"sha256", a.sha256}, {"size", a.size}, {"media_type", a.media_type}});
  j["artifacts"] = artifacts;
  return j;
}

json RunSummaryJson(const ml::RunSummary& s) {
  json j = RunJson(s.info);
  if (s.info.end_time == 0) j["end_time"] = nullptr;
  j["tags"] = s.tags;
  json metrics = json::object();
  for (const auto& [key, value] : s.last_metrics) metrics[key] = std::isfinite(value) ? json(value) : json(nullptr);
  j["metrics"] = metrics;
  return j;
}

json RunSummaryJson(const ml::RunDetails& d) { return RunSummaryJson(ml::RunSummary{d.info, LastMetrics(d), d.tags}); }

json DecisionJson(const ml::PromotionDecision& d) {
  json j = {{"decision_id", d.decision_id},
            {"decision", d.promote ? "promote" : "keep"},
            {"reason", d.reason},
            {"challenger_version", d.challenger_version},
            {"champion_version", OptionalJson(d.champion_version)},
            {"challenger_auprc", d.challenger_auprc},
            {"margin", d.margin},
            {"confidence", d.confidence},
            {"n_bootstrap", d.n_bootstrap},
            {"test_rows", d.test_rows},
            {"test_positives", d.test_positives}};
  if (d.champion_version) {
    j["champion_auprc"] = d.champion_auprc;
    j["difference"] = d.difference;
    j["ci"] = {d.ci_low, d.ci_high};
  }
  return j;
}

std::string FormatMillis(int64_t ms) {
  if (ms <= 0) return "-";
  time_t t = static_cast<time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03lldZ", buf, static_cast<long long>(ms % 1000));
  return out;
}

json PipelineRunJson(pipeline::StateStore* store, const pipeline::RunRecord& r) {
  json tasks = json::object();
  if (auto tis = store->TaskInstances(r.run_id); tis.ok())
    for (const auto& ti : *tis) tasks[ti.task_id] = {{"state", ti.state}, {"tries", ti.tries}};
  return {{"run_id", r.run_id}, {"dag_id", r.dag_id}, {"ds", r.ds},       {"kind", r.kind},
          {"state", r.state},   {"created_at", FormatMillis(r.created_at)}, {"started_at", FormatMillis(r.started_at)},
          {"ended_at", FormatMillis(r.ended_at)}, {"tasks", tasks}};
}

json TryJson(const pipeline::TryRecord& t) {
  std::string text = t.log_text;
  if (text.empty() && !t.log_path.empty()) {
    auto file = ReadFile(t.log_path);
    if (file.ok()) text = *file;
  }
  // "" (none) and text that is not JSON are both null.
  const json outputs = t.outputs.empty() ? json(nullptr) : json::parse(t.outputs, nullptr, false);
  return {{"task_id", t.task_id}, {"try_number", t.try_number}, {"state", t.state},
          {"started_at", FormatMillis(t.started_at)}, {"ended_at", FormatMillis(t.ended_at)},
          {"started_ms", t.started_at}, {"ended_ms", t.ended_at},
          {"exit_reason", t.exit_reason}, {"pid", t.pid}, {"log_path", t.log_path}, {"log", text},
          {"outputs", outputs.is_discarded() ? json(nullptr) : outputs}};
}

}  // namespace lathe::app
