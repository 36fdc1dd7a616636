#include "ml/track/train_run.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "ml/data/transaction.h"
#include "ml/features/feature_input.h"
#include "ml/features/feature_spec.h"

namespace lathe::ml {
namespace {

using nlohmann::json;

std::string Num(double v) { return fmt::format("{}", v); }

struct Verdict {
  std::string verdict = "none";
  std::string suite;
  int64_t result_id = 0;
  std::string result_json;
};

Result<Verdict> LatestValidation(storage::Db* db, const std::string& suite, int64_t day_ts) {
  Verdict v;
  const std::string day = FormatDay(day_ts);
  std::string sql = "SELECT result_id, suite, passed, result_json FROM validation_results WHERE day = $1";
  std::vector<storage::DbValue> params = {day};
  if (!suite.empty()) {
    sql += " AND suite = $2";
    params.push_back(suite);
  }
  sql += " ORDER BY result_id DESC LIMIT 1";
  LATHE_RETURN_IF_ERROR(db->Query(sql, params, [&](const storage::DbRow& r) {
    v.result_id = r.Int(0);
    v.suite = std::string(r.Text(1));
    v.verdict = r.Int(2) ? "passed" : "failed";
    v.result_json = std::string(r.Text(3));
    return Status::OK();
  }));
  return v;
}

void AddMetrics(const std::string& prefix, const Metrics& m, std::vector<std::pair<std::string, double>>* out) {
  auto add = [&](const std::string& k, double v) { out->emplace_back(prefix + "." + k, v); };
  add("auprc", m.auprc);
  add("roc_auc", m.roc_auc);
  add("precision", m.precision);
  add("recall", m.recall);
  add("f1", m.f1);
  add("accuracy", m.accuracy);
  add(fmt::format("card_precision_at_{}", m.k), m.card_precision_at_k);
  add("tp", static_cast<double>(m.confusion.tp));
  add("fp", static_cast<double>(m.confusion.fp));
  add("tn", static_cast<double>(m.confusion.tn));
  add("fn", static_cast<double>(m.confusion.fn));
  add("rows", static_cast<double>(m.rows));
  add("positives", static_cast<double>(m.positives));
}

// Everything after StartRun; any error fails the run.
Status Track(Tracker* tracker, Registry* registry, const TrainConfig& config, const std::string& spec_yaml,
             const FeatureSpec& spec, const FeatureMatrix& matrix, const std::vector<int64_t>& customer_ids,
             int64_t day_ts, const TrainRunOptions& options, TrainRunResult* out) {
  const std::string& run = out->run_id;
  std::map<std::string, std::string> params = TrainConfigParams(config);
  params["feature_spec.name"] = spec.name;
  params["feature_spec.features"] = std::to_string(spec.features.size());
  out->feature_spec_sha256 = Sha256Hex(spec_yaml);
  params["feature_spec.sha256"] = out->feature_spec_sha256;
  if (day_ts) params["date"] = FormatDay(day_ts);
  LATHE_RETURN_IF_ERROR(tracker->LogParams(run, params));

  Verdict verdict;
  if (day_ts) {
    LATHE_ASSIGN_OR_RETURN(verdict, LatestValidation(tracker->db(), options.validation_suite, day_ts));
  }
  out->validation = verdict.verdict;
  LATHE_RETURN_IF_ERROR(tracker->SetTag(run, "validation", verdict.verdict));
  if (verdict.result_id)
    LATHE_RETURN_IF_ERROR(tracker->SetTag(run, "validation.result_id", std::to_string(verdict.result_id)));
  LATHE_RETURN_IF_ERROR(tracker
                            ->LogArtifact(run, "validation_result.json",
                                          verdict.result_id ? verdict.result_json
                                                            : json{{"verdict", "none"},
                                                                   {"day", day_ts ? FormatDay(day_ts) : ""}}
                                                                  .dump(),
                                          "application/json")
                            .status());
  if (options.require_validation && verdict.verdict != "passed")
    return FailedPrecondition(fmt::format("the latest validation of {} is '{}', not 'passed'",
                                          day_ts ? FormatDay(day_ts) : "the window", verdict.verdict));

  if (options.check_champion) {
    LATHE_ASSIGN_OR_RETURN(std::optional<ModelVersion> champion, registry->GetAlias(options.model_name, kChampion));
    if (champion) LATHE_RETURN_IF_ERROR(registry->Load(options.model_name, champion->version).status());
  }
  LATHE_ASSIGN_OR_RETURN(out->train, Train(config, spec.Names(), matrix, customer_ids));
  const TrainResult& t = out->train;
  out->data_from = t.split.train_from;
  out->test_from = t.split.test_from;
  out->data_to = t.split.test_to;
  LATHE_RETURN_IF_ERROR(tracker->SetDataWindow(run, t.split.train_from, t.split.test_from, t.split.test_to,
                                               static_cast<int64_t>(t.split.fit.size()),
                                               static_cast<int64_t>(t.split.validation.size()),
                                               static_cast<int64_t>(t.split.test.size())));

  std::vector<std::pair<std::string, double>> metrics;
  AddMetrics("validation", t.validation, &metrics);
  AddMetrics("test", t.test, &metrics);
  metrics.emplace_back("threshold", t.threshold);
  metrics.emplace_back("positive_weight", t.positive_weight);
  metrics.emplace_back("rounds", t.rounds);
  for (const auto& [key, value] : metrics) LATHE_RETURN_IF_ERROR(tracker->LogMetric(run, key, value));

  const std::string kind = config.model == ModelKind::kXgboost ? "xgboost" : "logistic";
  LATHE_ASSIGN_OR_RETURN(ArtifactInfo model, tracker->LogArtifact(run, "model.json", t.model_bytes, "application/json"));
  LATHE_ASSIGN_OR_RETURN(ArtifactInfo spec_artifact,
                         tracker->LogArtifact(run, "feature_spec.yaml", spec_yaml, "application/yaml"));
  LATHE_RETURN_IF_ERROR(tracker
                            ->LogArtifact(run, "threshold.json",
                                          json{{"threshold", t.threshold},
                                               {"rule", config.threshold_rule == ThresholdRule::kCost ? "cost"
                                                                                                      : "target_recall"},
                                               {"chosen_on", "validation"}}
                                              .dump(),
                                          "application/json")
                            .status());
  json pr = json::array(), roc = json::array();
  for (const CurvePoint& p : t.test_curve) {
    pr.push_back({{"threshold", p.threshold}, {"precision", p.precision}, {"recall", p.recall}});
    roc.push_back({{"threshold", p.threshold}, {"fpr", p.fpr}, {"tpr", p.recall}});
  }
  LATHE_RETURN_IF_ERROR(tracker->LogArtifact(run, "pr_curve.json", pr.dump(), "application/json").status());
  LATHE_RETURN_IF_ERROR(tracker->LogArtifact(run, "roc_curve.json", roc.dump(), "application/json").status());

  LATHE_RETURN_IF_ERROR(tracker->EndRun(run, RunStatus::kFinished));
  if (options.register_model) {
    LATHE_ASSIGN_OR_RETURN(out->version, registry->RegisterVersion(options.model_name, run, kind, model.sha256,
                                                                   spec_artifact.sha256, t.threshold));
    LATHE_RETURN_IF_ERROR(tracker->SetTag(run, "registered", fmt::format("{} version {}", options.model_name,
                                                                         out->version->version)));
  }
  return Status::OK();
}

Result<TrainRunResult> Run(Tracker* tracker, Registry* registry, const TrainConfig& config,
                           const std::string& spec_yaml, const FeatureSpec& spec, const FeatureMatrix& matrix,
                           const std::vector<int64_t>& customer_ids, int64_t day_ts, const TrainRunOptions& options) {
  TrainRunResult out;
  LATHE_ASSIGN_OR_RETURN(out.run_id, tracker->StartRun(options.experiment));
  Status st = Track(tracker, registry, config, spec_yaml, spec, matrix, customer_ids, day_ts, options, &out);
  if (!st.ok()) {
    auto info = tracker->GetRun(out.run_id);
    if (info.ok() && info->status == RunStatus::kRunning)
      (void)tracker->EndRun(out.run_id, RunStatus::kFailed, st.message());
    return Status(st.code(), fmt::format("run {} failed: {}", out.run_id, st.message()));
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> TrainConfigParams(const TrainConfig& c) {
  return {
      {"model", c.model == ModelKind::kXgboost ? "xgboost" : "logistic"},
      {"seed", std::to_string(c.seed)},
      {"split.train_days", std::to_string(c.split.train_days)},
      {"split.validation_days", std::to_string(c.split.validation_days)},
      {"split.gap_days", std::to_string(c.split.gap_days)},
      {"split.test_days", std::to_string(c.split.test_days)},
      {"positive_weight", c.positive_weight > 0 ? Num(c.positive_weight) : "auto"},
      {"threshold.rule", c.threshold_rule == ThresholdRule::kCost ? "cost" : "target_recall"},
      {"threshold.target_recall", Num(c.target_recall)},
      {"threshold.fp_cost", Num(c.fp_cost)},
      {"threshold.fn_cost", Num(c.fn_cost)},
      {"min_train_rows", std::to_string(c.min_train_rows)},
      {"card_precision_k", std::to_string(c.card_precision_k)},
      {"xgboost.max_depth", std::to_string(c.xgboost.max_depth)},
      {"xgboost.eta", Num(c.xgboost.eta)},
      {"xgboost.n_estimators", std::to_string(c.xgboost.n_estimators)},
      {"xgboost.subsample", Num(c.xgboost.subsample)},
      {"xgboost.colsample_bytree", Num(c.xgboost.colsample_bytree)},
      {"xgboost.min_child_weight", Num(c.xgboost.min_child_weight)},
      {"xgboost.nthread", std::to_string(c.xgboost.nthread)},
      {"xgboost.early_stopping_rounds", std::to_string(c.xgboost.early_stopping_rounds)},
      {"logistic.l2", Num(c.logistic.l2)},
      {"logistic.max_iterations", std::to_string(c.logistic.max_iterations)},
  };
}

Result<TrainRunResult> TrainOnMatrix(Tracker* tracker, Registry* registry, const TrainConfig& config,
                                     const std::string& feature_spec_yaml, const FeatureMatrix& matrix,
                                     const std::vector<int64_t>& customer_ids, int64_t day_ts,
                                     const TrainRunOptions& options) {
  LATHE_ASSIGN_OR_RETURN(FeatureSpec spec, ParseFeatureSpec(feature_spec_yaml, "feature spec"));
  return Run(tracker, registry, config, feature_spec_yaml, spec, matrix, customer_ids, day_ts, options);
}

Result<TrainRunResult> TrainTrackRegister(Tracker* tracker, Registry* registry, const TrainConfig& config,
                                          const std::string& feature_spec_yaml, int64_t day_ts,
                                          const TrainRunOptions& options, CpuPool* pool) {
  LATHE_ASSIGN_OR_RETURN(FeatureSpec spec, ParseFeatureSpec(feature_spec_yaml, "feature spec"));
  const int64_t days = config.split.train_days + config.split.gap_days + config.split.test_days;
  const int64_t to = DayStart(day_ts) + kSecondsPerDay;
  const int64_t from = to - days * kSecondsPerDay;
  LATHE_ASSIGN_OR_RETURN(int64_t on_day, tracker->db()->QueryInt(
                                             "SELECT COUNT(*) FROM transactions WHERE ts >= $1 AND ts < $2",
                                             {to - kSecondsPerDay, to}));
  if (on_day == 0)
    return InvalidArgument(fmt::format("there are no transactions on {}, the last day of the training window",
                                       FormatDay(to - kSecondsPerDay)));
  LATHE_ASSIGN_OR_RETURN(FeatureInput input, LoadFeatureInput(tracker->db(), from - spec.LookbackSeconds(), to));
  LATHE_ASSIGN_OR_RETURN(FeatureMatrix matrix, ComputeBatch(spec, input, pool));
  LATHE_ASSIGN_OR_RETURN(std::vector<int64_t> customers, CustomerIdsOf(matrix, input));
  LATHE_ASSIGN_OR_RETURN(TrainRunResult out,
                         Run(tracker, registry, config, feature_spec_yaml, spec, matrix, customers, to - kSecondsPerDay,
                             options));
  out.matrix = std::make_shared<const FeatureMatrix>(std::move(matrix));
  return out;
}

}  // namespace lathe::ml
