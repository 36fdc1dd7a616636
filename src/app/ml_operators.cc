#include "app/ml_operators.h"

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/binary_io.h"
#include "common/cpu_pool.h"
#include "common/file_util.h"
#include "common/snapshot_file.h"
#include "ml/data/transaction.h"
#include "ml/features/batch.h"
#include "ml/features/feature_input.h"
#include "ml/features/feature_spec.h"
#include "ml/track/ml_store.h"
#include "ml/track/promotion.h"
#include "ml/track/registry.h"
#include "ml/track/train_run.h"
#include "ml/train/trainer.h"
#include "ml/validate/validator.h"
#include "pipeline/webhook.h"
#include "storage/db.h"

namespace lathe::app {
namespace {

using nlohmann::json;
using pipeline::TaskContext;

// The tag that ties a tracked run to the pipeline run that trained it, so a
// repeated train try finds the version it registered before.
constexpr const char* kPipelineRunTag = "pipeline.run";
constexpr uint32_t kFeaturesFormat = 1;

Result<std::string> StringParam(const TaskContext& ctx, const std::string& key, const std::string& fallback = {},
                                bool required = false) {
  if (!ctx.params.is_object() || !ctx.params.contains(key) || ctx.params[key].is_null()) {
    if (required) return InvalidArgument(fmt::format("{}: param '{}' is required", ctx.task_id, key));
    return fallback;
  }
  if (!ctx.params[key].is_string())
    return InvalidArgument(fmt::format("{}: param '{}' must be a string, not {}", ctx.task_id, key, ctx.params[key].dump()));
  return ctx.params[key].get<std::string>();
}

Result<double> NumberParam(const TaskContext& ctx, const std::string& key, double fallback) {
  if (!ctx.params.is_object() || !ctx.params.contains(key) || ctx.params[key].is_null()) return fallback;
  if (!ctx.params[key].is_number())
    return InvalidArgument(fmt::format("{}: param '{}' must be a number, not {}", ctx.task_id, key, ctx.params[key].dump()));
  return ctx.params[key].get<double>();
}

Result<bool> BoolParam(const TaskContext& ctx, const std::string& key, bool fallback) {
  if (!ctx.params.is_object() || !ctx.params.contains(key) || ctx.params[key].is_null()) return fallback;
  if (!ctx.params[key].is_boolean())
    return InvalidArgument(fmt::format("{}: param '{}' must be true or false, not {}", ctx.task_id, key, ctx.params[key].dump()));
  return ctx.params[key].get<bool>();
}

// The output `key` of upstream task `task`; FailedPrecondition when the DAG
// does not wire that task directly upstream.
Result<json> Upstream(const TaskContext& ctx, const std::string& task, const std::string& key) {
  auto it = ctx.upstream_outputs.find(task);
  if (it == ctx.upstream_outputs.end() || !it->second.is_object() || !it->second.contains(key))
    return FailedPrecondition(fmt::format("{} needs the output '{}' of a '{}' task directly upstream of it",
                                          ctx.task_id, key, task));
  return it->second[key];
}

Result<int64_t> RunDay(const TaskContext& ctx) {
  auto day = ml::ParseDay(ctx.ds);
  if (!day.ok()) return InvalidArgument(fmt::format("{}: run date {}", ctx.task_id, day.status().message()));
  return *day;
}

Result<std::unique_ptr<storage::Db>> OpenStore(const TaskContext& ctx) { return storage::OpenDb(ctx.db_url, ctx.data_dir); }

Result<ml::MlStore> OpenTaskStore(const TaskContext& ctx) { return ml::OpenMlStore(ctx.db_url, ctx.data_dir); }

// ---- extract ----------------------------------------------------------------

// Copies one table's rows selected by `where` (with params) from source into
// target, column by column as the target declares them.
Status CopyRows(storage::Db* source, storage::Db* target, const std::string& table, const std::string& where,
                const std::vector<storage::DbValue>& params, int64_t* copied) {
  LATHE_ASSIGN_OR_RETURN(std::vector<storage::DbColumn> columns, target->Columns(table));
  std::vector<std::string> names;
  std::string select = "SELECT ";
  for (size_t i = 0; i < columns.size(); ++i) {
    names.push_back(columns[i].name);
    select += (i ? ", " : "") + columns[i].name;
  }
  select += " FROM " + table + (where.empty() ? "" : " WHERE " + where);
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::BulkWriter> writer, target->BulkInsert(table, names));
  Status st = source->Query(select, params, [&](const storage::DbRow& row) -> Status {
    for (size_t i = 0; i < columns.size(); ++i) {
      int c = static_cast<int>(i);
      if (row.IsNull(c)) {
        writer->Null();
      } else if (columns[i].type == "int") {
        writer->Int(row.Int(c));
      } else if (columns[i].type == "float") {
        writer->Double(row.Double(c));
      } else {
        writer->Text(row.Text(c));
      }
    }
    ++*copied;
    return writer->EndRow();
  });
  if (!st.ok()) return Status(st.code(), fmt::format("copying {} from {}: {}", table, source->url(), st.message()));
  return writer->Finish();
}

// Pulls the window [from, to] (days, inclusive) from params.source into the
// store, replacing what the store held for those days (labels that arrived
// since the last pull come with it), with the customers and terminals. With
// no source the store is where transactions land (lathe data import or
// generate): the window is only counted. Either way a run date without a
// single transaction fails: there is nothing to check or train on.
Result<json> Extract(TaskContext& ctx) {
  LATHE_ASSIGN_OR_RETURN(int64_t day, RunDay(ctx));
  LATHE_ASSIGN_OR_RETURN(std::string from_text, StringParam(ctx, "from", ctx.ds));
  LATHE_ASSIGN_OR_RETURN(std::string to_text, StringParam(ctx, "to", ctx.ds));
  LATHE_ASSIGN_OR_RETURN(std::string source_url, StringParam(ctx, "source"));
  auto from = ml::ParseDay(from_text);
  if (!from.ok()) return InvalidArgument("extract: param 'from' " + from.status().message());
  auto to = ml::ParseDay(to_text);
  if (!to.ok()) return InvalidArgument("extract: param 'to' " + to.status().message());
  if (*to < *from) return InvalidArgument(fmt::format("extract: 'from' {} is after 'to' {}", from_text, to_text));
  const int64_t end = *to + ml::kSecondsPerDay;
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> store, OpenStore(ctx));
  json out = {{"from", from_text}, {"to", to_text}};
  if (!source_url.empty()) {
    LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> source, storage::OpenDb(source_url, ctx.data_dir));
    if (source->url() == store->url())
      return InvalidArgument("extract: param 'source' " + source->url() + " is the store itself; leave it out");
    LATHE_ASSIGN_OR_RETURN(int64_t available,
                           source->QueryInt("SELECT COUNT(*) FROM transactions WHERE ts >= $1 AND ts < $2", {*from, end}));
    ctx.Log(fmt::format("source {}: {} transactions from {} to {}", source->url(), available, from_text, to_text));
    int64_t customers = 0, terminals = 0, transactions = 0;
    storage::DbTransaction tx(store.get());
    LATHE_RETURN_IF_ERROR(tx.status());
    LATHE_RETURN_IF_ERROR(store->Exec("DELETE FROM customers"));
    LATHE_RETURN_IF_ERROR(store->Exec("DELETE FROM terminals"));
    LATHE_RETURN_IF_ERROR(
        store->Execute("DELETE FROM transactions WHERE ts >= $1 AND ts < $2", {*from, end}).status());
    LATHE_RETURN_IF_ERROR(CopyRows(source.get(), store.get(), "customers", "", {}, &customers));
    LATHE_RETURN_IF_ERROR(CopyRows(source.get(), store.get(), "terminals", "", {}, &terminals));
    LATHE_RETURN_IF_ERROR(
        CopyRows(source.get(), store.get(), "transactions", "ts >= $1 AND ts < $2", {*from, end}, &transactions));
    LATHE_RETURN_IF_ERROR(tx.Commit());
    ctx.Log(fmt::format("copied {} customers, {} terminals, {} transactions into {}", customers, terminals, transactions,
                        store->url()));
    out["source"] = source->url();
    out["copied"] = transactions;
  }
  LATHE_ASSIGN_OR_RETURN(int64_t rows,
                         store->QueryInt("SELECT COUNT(*) FROM transactions WHERE ts >= $1 AND ts < $2", {*from, end}));
  LATHE_ASSIGN_OR_RETURN(int64_t on_day, store->QueryInt("SELECT COUNT(*) FROM transactions WHERE ts >= $1 AND ts < $2",
                                                         {day, day + ml::kSecondsPerDay}));
  LATHE_ASSIGN_OR_RETURN(int64_t frauds, store->QueryInt("SELECT COUNT(*) FROM transactions WHERE ts >= $1 AND ts < $2 "
                                                         "AND is_fraud = 1",
                                                         {*from, end}));
  ctx.Log(fmt::format("window {}..{}: {} transactions ({} on {}), {} labelled fraud", from_text, to_text, rows, on_day,
                      ctx.ds, frauds));
  if (on_day == 0)
    return FailedPrecondition(fmt::format("extract: no transactions on {} in {}: the day's data has not landed",
                                          ctx.ds, store->url()));
  out["rows"] = rows;
  out["rows_on_day"] = on_day;
  out["fraud_rows"] = frauds;
  return out;
}

// ---- validate ---------------------------------------------------------------

Result<json> ValidateDay(TaskContext& ctx) {
  LATHE_ASSIGN_OR_RETURN(std::string suite_path, StringParam(ctx, "suite", "", /*required=*/true));
  LATHE_ASSIGN_OR_RETURN(std::string date, StringParam(ctx, "date", ctx.ds));
  auto day = ml::ParseDay(date);
  if (!day.ok()) return InvalidArgument("validate: param 'date' " + day.status().message());
  LATHE_ASSIGN_OR_RETURN(ml::Suite suite, ml::LoadSuite(suite_path));
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> store, OpenStore(ctx));
  ml::ValidateOptions options;
  options.day_ts = *day;
  options.out_dir = ctx.data_dir + "/validation";
  LATHE_ASSIGN_OR_RETURN(ml::ValidationResult r, ml::Validate(store.get(), suite, options));
  for (const ml::CheckResult& c : r.checks)
    ctx.Log(fmt::format("{:<7} {:<4} {}", ml::CheckStatusName(c.status), ml::SeverityName(c.severity), c.name));
  ctx.Log(fmt::format("{} {}: {} ({} rows; {} failed, {} warned); report {}", r.suite, r.day,
                      r.passed ? "PASSED" : "FAILED", r.rows, r.failed, r.warned, r.html_path));
  if (!r.passed)
    return FailedPrecondition(fmt::format("validate: {} failed suite {} ({} failing checks; report {}): nothing is "
                                          "trained or promoted on this data",
                                          r.day, r.suite, r.failed, r.html_path));
  return json{{"suite", r.suite}, {"day", r.day}, {"rows", r.rows}, {"warned", r.warned}, {"result_id", r.result_id},
              {"report", r.html_path}};
}

// ---- features ---------------------------------------------------------------

// A computed training matrix handed from the features task to train and
// evaluate: the spec text it was computed with, the matrix and one customer
// id per row, in a checksummed snapshot file under the run's folder.
struct FeatureFile {
  std::string spec_yaml;
  int64_t day_ts = 0;
  ml::FeatureMatrix matrix;
  std::vector<int64_t> customer_ids;
};

Status WriteFeatureFile(const std::string& path, const FeatureFile& f) {
  BinaryWriter w;
  w.PutString(f.spec_yaml);
  w.Put<int64_t>(f.day_ts);
  w.Put<uint64_t>(f.matrix.names.size());
  for (const std::string& n : f.matrix.names) w.PutString(n);
  w.Put<uint64_t>(f.matrix.rows);
  w.Put<uint64_t>(f.matrix.cols);
  w.PutArrayRef(f.matrix.values.data(), f.matrix.values.size());
  w.PutArrayRef(f.matrix.labels.data(), f.matrix.labels.size());
  w.PutArrayRef(f.matrix.ts.data(), f.matrix.ts.size());
  w.PutArrayRef(f.matrix.transaction_id.data(), f.matrix.transaction_id.size());
  w.PutArrayRef(f.matrix.label_ts.data(), f.matrix.label_ts.size());
  w.PutArrayRef(f.customer_ids.data(), f.customer_ids.size());
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return IOError(fmt::format("creating the folder of {}: {}", path, ec.message()));
  SnapshotHeader header;
  header.version = kFeaturesFormat;
  header.settings = "features";
  return WriteSnapshot(path, header, w.pieces());
}

Result<FeatureFile> ReadFeatureFile(const std::string& path) {
  SnapshotHeader header;
  std::string payload;
  LATHE_RETURN_IF_ERROR(ReadSnapshot(path, &header, &payload));
  if (header.version != kFeaturesFormat || header.settings != "features")
    return Corruption(fmt::format("{}: not a feature file of format {}", path, kFeaturesFormat));
  FeatureFile f;
  BinaryReader r(payload);
  uint64_t names = 0, rows = 0, cols = 0;
  bool ok = r.GetString(&f.spec_yaml) && r.Get(&f.day_ts) && r.Get(&names) && names < (1u << 16);
  for (uint64_t i = 0; ok && i < names; ++i) {
    std::string n;
    ok = r.GetString(&n);
    f.matrix.names.push_back(std::move(n));
  }
  ok = ok && r.Get(&rows) && r.Get(&cols) && r.GetArray(&f.matrix.values) && r.GetArray(&f.matrix.labels) &&
       r.GetArray(&f.matrix.ts) && r.GetArray(&f.matrix.transaction_id) && r.GetArray(&f.matrix.label_ts) &&
       r.GetArray(&f.customer_ids);
  f.matrix.rows = rows;
  f.matrix.cols = cols;
  if (!ok || cols != names || f.matrix.values.size() != rows * cols || f.matrix.labels.size() != rows ||
      f.matrix.ts.size() != rows || f.matrix.transaction_id.size() != rows || f.matrix.label_ts.size() != rows ||
      f.customer_ids.size() != rows)
    return Corruption(fmt::format("{}: feature file is truncated or inconsistent", path));
  return f;
}

// Computes the features of exactly the window train.yaml's split needs
// (train + gap + test days ending with the run date, plus the spec's
// look-back for warm-up) and hands them on in a file.
Result<json> Features(TaskContext& ctx) {
  LATHE_ASSIGN_OR_RETURN(int64_t day, RunDay(ctx));
  LATHE_ASSIGN_OR_RETURN(std::string spec_path, StringParam(ctx, "spec", "features/fraud.yaml"));
  LATHE_ASSIGN_OR_RETURN(std::string config_path, StringParam(ctx, "config", "train.yaml"));
  LATHE_ASSIGN_OR_RETURN(ml::TrainConfig config, ml::LoadTrainConfig(config_path));
  LATHE_ASSIGN_OR_RETURN(std::string spec_yaml, ReadFile(spec_path));
  LATHE_ASSIGN_OR_RETURN(ml::FeatureSpec spec, ml::ParseFeatureSpec(spec_yaml, spec_path));
  const int64_t days = config.split.train_days + config.split.gap_days + config.split.test_days;
  const int64_t to = day + ml::kSecondsPerDay, from = to - days * ml::kSecondsPerDay;
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> store, OpenStore(ctx));
  LATHE_ASSIGN_OR_RETURN(ml::FeatureInput input, ml::LoadFeatureInput(store.get(), from - spec.LookbackSeconds(), to));
  CpuPool pool;
  FeatureFile file;
  file.spec_yaml = spec_yaml;
  file.day_ts = day;
  LATHE_ASSIGN_OR_RETURN(file.matrix, ml::ComputeBatch(spec, input, &pool));
  LATHE_ASSIGN_OR_RETURN(file.customer_ids, ml::CustomerIdsOf(file.matrix, input));
  const std::string path = fmt::format("{}/pipeline/{}/{}/features.bin", ctx.data_dir, ctx.dag_id, ctx.run_id);
  LATHE_RETURN_IF_ERROR(WriteFeatureFile(path, file));
  ctx.Log(fmt::format("{} rows x {} features ({} to {}, with {} s look-back) -> {}", file.matrix.rows, file.matrix.cols,
                      ml::FormatDay(from), ml::FormatDay(to - ml::kSecondsPerDay), spec.LookbackSeconds(), path));
  return json{{"path", path},
              {"rows", file.matrix.rows},
              {"cols", file.matrix.cols},
              {"spec_sha256", Sha256Hex(spec_yaml)},
              {"from", ml::FormatDay(from)},
              {"to", ml::FormatDay(to - ml::kSecondsPerDay)}};
}

// ---- train ------------------------------------------------------------------

// The version a previous try of this pipeline run registered, if any.
Result<std::optional<ml::ModelVersion>> VersionOfPipelineRun(ml::Registry* registry, const std::string& model,
                                                             const std::string& key) {
  std::optional<int64_t> version;
  LATHE_RETURN_IF_ERROR(registry->db()->Query(
      "SELECT v.version FROM model_versions v JOIN run_tags t ON t.run_id = v.run_id "
      "WHERE v.name = $1 AND t.key = $2 AND t.value = $3 ORDER BY v.version DESC",
      {model, std::string(kPipelineRunTag), key}, [&](const storage::DbRow& row) {
        if (!version) version = row.Int(0);
        return Status::OK();
      }));
  if (!version) return std::optional<ml::ModelVersion>();
  LATHE_ASSIGN_OR_RETURN(ml::ModelVersion v, registry->GetVersion(model, *version));
  return std::optional<ml::ModelVersion>(std::move(v));
}

std::string PipelineKey(const TaskContext& ctx) { return ctx.dag_id + "/" + ctx.run_id; }

json VersionJson(const ml::ModelVersion& v) {
  return {{"model", v.name}, {"version", v.version}, {"run_id", v.run_id}, {"kind", v.kind}, {"threshold", v.threshold}};
}

Result<json> TrainModel(TaskContext& ctx) {
  LATHE_ASSIGN_OR_RETURN(std::string config_path, StringParam(ctx, "config", "train.yaml"));
  LATHE_ASSIGN_OR_RETURN(std::string model, StringParam(ctx, "model", "fraud"));
  LATHE_ASSIGN_OR_RETURN(std::string experiment, StringParam(ctx, "experiment", "fraud"));
  LATHE_ASSIGN_OR_RETURN(bool require_validation, BoolParam(ctx, "require_validation", true));
  LATHE_ASSIGN_OR_RETURN(json features_path, Upstream(ctx, "features", "path"));
  LATHE_ASSIGN_OR_RETURN(ml::TrainConfig config, ml::LoadTrainConfig(config_path));
  LATHE_ASSIGN_OR_RETURN(ml::MlStore stores, OpenTaskStore(ctx));
  const std::string key = PipelineKey(ctx);
  LATHE_ASSIGN_OR_RETURN(std::optional<ml::ModelVersion> done, VersionOfPipelineRun(stores.registry.get(), model, key));
  json out;
  if (done) {
    ctx.Log(fmt::format("this pipeline run already registered {} v{} (run {}): not training again", model,
                        done->version, done->run_id));
    out = VersionJson(*done);
    out["reused"] = true;
  } else {
    LATHE_ASSIGN_OR_RETURN(FeatureFile file, ReadFeatureFile(features_path.get<std::string>()));
    ml::TrainRunOptions options;
    options.experiment = experiment;
    options.model_name = model;
    options.require_validation = require_validation;
    LATHE_ASSIGN_OR_RETURN(ml::TrainRunResult r,
                           ml::TrainOnMatrix(stores.tracker.get(), stores.registry.get(), config, file.spec_yaml,
                                             file.matrix, file.customer_ids, file.day_ts, options));
    LATHE_RETURN_IF_ERROR(stores.tracker->SetTag(r.run_id, kPipelineRunTag, key));
    if (!r.version) return Internal("train: no version was registered for run " + r.run_id);
    const ml::Metrics& t = r.train.test;
    ctx.Log(fmt::format("run {}: {} v{} test AUPRC {:.4f} ROC-AUC {:.4f}, threshold {:.4f}, {} rounds", r.run_id, model,
                        r.version->version, t.auprc, t.roc_auc, r.train.threshold, r.train.rounds));
    out = VersionJson(*r.version);
    out["test_auprc"] = t.auprc;
    out["test_roc_auc"] = t.roc_auc;
    out["reused"] = false;
  }
  out["features"] = features_path;
  return out;
}

// ---- evaluate and promote ------------------------------------------------------

Result<json> Evaluate(TaskContext& ctx) {
  LATHE_ASSIGN_OR_RETURN(std::string model, StringParam(ctx, "model", "fraud"));
  ml::PromotionPolicy policy;
  LATHE_ASSIGN_OR_RETURN(policy.margin, NumberParam(ctx, "margin", policy.margin));
  LATHE_ASSIGN_OR_RETURN(double n, NumberParam(ctx, "n_bootstrap", policy.n_bootstrap));
  policy.n_bootstrap = static_cast<int>(n);
  LATHE_ASSIGN_OR_RETURN(policy.confidence, NumberParam(ctx, "confidence", policy.confidence));
  LATHE_RETURN_IF_ERROR(ml::ValidatePolicy(policy));
  LATHE_ASSIGN_OR_RETURN(json version, Upstream(ctx, "train", "version"));
  LATHE_ASSIGN_OR_RETURN(json features_path, Upstream(ctx, "train", "features"));
  LATHE_ASSIGN_OR_RETURN(ml::MlStore stores, OpenTaskStore(ctx));
  CpuPool pool;
  std::optional<FeatureFile> file;
  ml::PrecomputedFeatures precomputed;
  if (auto f = ReadFeatureFile(features_path.get<std::string>()); f.ok()) {
    file = std::move(*f);
    precomputed.matrix = &file->matrix;
    precomputed.spec_sha256 = Sha256Hex(file->spec_yaml);
  } else {
    ctx.Log("feature file unusable (" + f.status().message() + "): evaluation computes the features again");
  }
  LATHE_ASSIGN_OR_RETURN(ml::PromotionDecision d,
                         ml::EvaluatePromotion(stores.tracker.get(), stores.registry.get(), model, version.get<int64_t>(),
                                               policy, &pool, precomputed));
  ctx.Log(fmt::format("{} v{} against {}: {} ({})", model, d.challenger_version,
                      d.champion_version ? "v" + std::to_string(*d.champion_version) : "no champion",
                      d.promote ? "promote" : "keep", d.reason));
  return json{{"model", model},
              {"version", d.challenger_version},
              {"decision_id", d.decision_id},
              {"promote", d.promote},
              {"reason", d.reason},
              {"challenger_auprc", d.challenger_auprc},
              {"champion_auprc", d.champion_auprc},
              {"ci_low", d.ci_low},
              {"ci_high", d.ci_high}};
}

Result<json> Promote(TaskContext& ctx) {
  LATHE_ASSIGN_OR_RETURN(std::string model, StringParam(ctx, "model", "fraud"));
  LATHE_ASSIGN_OR_RETURN(json decision_id, Upstream(ctx, "evaluate", "decision_id"));
  LATHE_ASSIGN_OR_RETURN(ml::MlStore stores, OpenTaskStore(ctx));
  LATHE_ASSIGN_OR_RETURN(ml::PromotionDecision d, stores.registry->GetDecision(decision_id.get<int64_t>()));
  if (d.name != model)
    return InvalidArgument(fmt::format("promote: decision {} is for model '{}', not '{}'", d.decision_id, d.name, model));
  LATHE_ASSIGN_OR_RETURN(ml::PromoteOutcome o,
                         stores.registry->Promote(model, d.challenger_version, d, PipelineKey(ctx)));
  std::string champion = o.champion ? "v" + std::to_string(*o.champion) : "none";
  if (o.already_applied) {
    ctx.Log(fmt::format("decision {} was applied by an earlier try; champion {}", d.decision_id, champion));
  } else {
    ctx.Log(o.moved ? fmt::format("{} v{} is now the champion (was {})", model, d.challenger_version,
                                  o.previous_champion ? "v" + std::to_string(*o.previous_champion) : "none")
                    : fmt::format("{} v{} not promoted: {}; champion stays {}", model, d.challenger_version, d.reason,
                                  champion));
  }
  json out = {{"model", model}, {"version", d.challenger_version}, {"promoted", d.promote},
              {"moved", o.moved}, {"already_applied", o.already_applied}};
  out["champion"] = o.champion ? json(*o.champion) : json(nullptr);
  return out;
}

// ---- deploy -----------------------------------------------------------------

// Tells the serving instance to load the champion now (it also polls), and
// calls the optional CI/CD webhook. Without a change of champion there is
// nothing to deploy unless params.always. A server that cannot be reached
// fails the task only with params.require_server: the server picks the
// champion up by polling anyway.
Result<json> Deploy(TaskContext& ctx) {
  LATHE_ASSIGN_OR_RETURN(std::string model, StringParam(ctx, "model", "fraud"));
  LATHE_ASSIGN_OR_RETURN(std::string server, StringParam(ctx, "server"));
  LATHE_ASSIGN_OR_RETURN(std::string webhook, StringParam(ctx, "webhook"));
  LATHE_ASSIGN_OR_RETURN(std::string key_env, StringParam(ctx, "api_key_env", "LATHE_ADMIN_KEY"));
  LATHE_ASSIGN_OR_RETURN(bool require_server, BoolParam(ctx, "require_server", false));
  LATHE_ASSIGN_OR_RETURN(bool always, BoolParam(ctx, "always", false));
  LATHE_ASSIGN_OR_RETURN(json moved, Upstream(ctx, "promote", "moved"));
  if (!moved.get<bool>() && !always) {
    ctx.Log("the champion did not change: nothing to deploy");
    return json{{"model", model}, {"notified", false}, {"webhook", false}};
  }
  // What the server will load: the champion now, which a person may have
  // moved since this run's promote task (models promote / rollback).
  LATHE_ASSIGN_OR_RETURN(ml::MlStore stores, OpenTaskStore(ctx));
  LATHE_ASSIGN_OR_RETURN(std::optional<ml::ModelVersion> current, stores.registry->GetAlias(model, ml::kChampion));
  if (!current) return FailedPrecondition(fmt::format("deploy: model '{}' has no champion to deploy", model));
  json champion = current->version;
  json out = {{"model", model}, {"champion", champion}, {"notified", false}, {"webhook", false}};
  ctx.Log(fmt::format("deploying {} v{} (run {})", model, current->version, current->run_id));
  const auto timeout = std::chrono::milliseconds(10000);
  if (!server.empty()) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (const char* key = std::getenv(key_env.c_str()); key && *key) headers.emplace_back("Authorization", std::string("Bearer ") + key);
    std::string response;
    Status st = pipeline::PostJson(server + "/v1/models/" + model + "/reload", json::object(), timeout, headers, &response);
    if (st.ok()) {
      ctx.Log("server " + server + " reloaded: " + response);
      out["notified"] = true;
    } else if (require_server) {
      return st;
    } else {
      ctx.Log("server not notified (" + st.message() + "); it loads the new champion when it next polls");
    }
  }
  if (!webhook.empty()) {
    json body = {{"event", "model_deployed"}, {"model", model}, {"version", champion},
                 {"dag_id", ctx.dag_id}, {"run_id", ctx.run_id}, {"ds", ctx.ds}};
    LATHE_RETURN_IF_ERROR(pipeline::PostJson(webhook, body, timeout));
    ctx.Log("webhook " + webhook + " called");
    out["webhook"] = true;
  }
  return out;
}

}  // namespace

void RegisterMlOperators(pipeline::OperatorRegistry* registry) {
  registry->Register("extract", Extract);
  registry->Register("validate", ValidateDay);
  registry->Register("features", Features);
  registry->Register("train", TrainModel);
  registry->Register("evaluate", Evaluate);
  registry->Register("promote", Promote);
  registry->Register("deploy", Deploy);
}

}  // namespace lathe::app
