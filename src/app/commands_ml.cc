// train, runs (list / show / compare) and models (list / promote / rollback):
// the fraud model's training, tracking and registry commands. Each opens the
// database named by --db (default: the SQLite file in the data directory)
// and the artifact folder <data-dir>/artifacts, does one job and reports on
// stdout (--json for JSON). Exit 2 for bad input or an unknown name, 1 for
// any other failure.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include <fmt/format.h>

#include "app/commands.h"
#include "app/ml_json.h"
#include "common/file_util.h"
#include "ml/data/transaction.h"
#include "ml/track/ml_store.h"
#include "ml/track/promotion.h"
#include "ml/track/registry.h"
#include "ml/track/tracker.h"
#include "ml/track/train_run.h"
#include "storage/db.h"

namespace lathe::app {
namespace {

using nlohmann::json;

void AddDbOption(CLI::App* cmd, std::string* url) {
  cmd->add_option("--db", *url,
                  "Database URL: postgres://user@host:port/db, sqlite:PATH (default: DATA_DIR/lathe.db)");
}

json MetricsJson(const ml::Metrics& m) {
  return json{{"rows", m.rows},
              {"positives", m.positives},
              {"auprc", m.auprc},
              {"roc_auc", m.roc_auc},
              {"precision", m.precision},
              {"recall", m.recall},
              {"f1", m.f1},
              {"accuracy", m.accuracy},
              {fmt::format("card_precision_at_{}", m.k), m.card_precision_at_k},
              {"confusion", {{"tp", m.confusion.tp}, {"fp", m.confusion.fp}, {"tn", m.confusion.tn}, {"fn", m.confusion.fn}}}};
}

void RegisterTrain(CLI::App* app, AppContext* ctx, int* exit_code) {
  struct Args {
    std::string config, date, db, features = "features/fraud.yaml", model_name = "fraud", experiment = "fraud",
                                  validation_suite;
    bool no_promote = false, require_validation = false, json = false;
    ml::PromotionPolicy policy;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app->add_subcommand(
      "train", "Train the fraud model on the window ending with --date, track the run, register the model and "
               "promote it if it beats the champion");
  cmd->add_option("--config", args->config, "Training configuration (train.yaml)")->required();
  cmd->add_option("--date", args->date, "Last day of the window (the test window ends here), YYYY-MM-DD")->required();
  cmd->add_option("--features", args->features, "Feature spec (YAML)")->capture_default_str();
  cmd->add_option("--model-name", args->model_name, "Registered model name")->capture_default_str();
  cmd->add_option("--experiment", args->experiment, "Experiment the run belongs to")->capture_default_str();
  cmd->add_flag("--no-promote", args->no_promote, "Register the model as challenger, do not evaluate or promote");
  cmd->add_option("--margin", args->policy.margin, "AUPRC gain the challenger needs over the champion")
      ->capture_default_str();
  cmd->add_option("--n-bootstrap", args->policy.n_bootstrap, "Paired bootstrap resamples of the test rows")
      ->capture_default_str();
  cmd->add_option("--confidence", args->policy.confidence, "Confidence of the bootstrap interval")
      ->capture_default_str();
  cmd->add_option("--validation-suite", args->validation_suite,
                  "Suite whose verdict on --date is recorded (default: the day's latest of any suite)");
  cmd->add_flag("--require-validation", args->require_validation,
                "Refuse to train unless the latest validation of --date passed");
  AddDbOption(cmd, &args->db);
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  cmd->callback([args, ctx, exit_code] {
    auto fail = [&](const Status& st) { *exit_code = ReportError(st); };
    auto day = ml::ParseDay(args->date);
    if (!day.ok()) return fail(InvalidArgument("--date " + day.status().message()));
    if (Status st = ml::ValidatePolicy(args->policy); !st.ok()) return fail(st);
    auto config = ml::LoadTrainConfig(args->config);
    if (!config.ok()) return fail(config.status());
    auto spec = ReadFile(args->features);
    if (!spec.ok()) return fail(NotFound(fmt::format("cannot read feature spec {}", args->features)));
    auto stores = ml::OpenMlStore(args->db, ctx->settings.data_dir);
    if (!stores.ok()) return fail(stores.status());
    CpuPool pool(ctx->settings.threads);
    ml::TrainRunOptions options;
    options.experiment = args->experiment;
    options.model_name = args->model_name;
    options.validation_suite = args->validation_suite;
    options.require_validation = args->require_validation;
    options.check_champion = !args->no_promote;
    auto run = ml::TrainTrackRegister(stores->tracker.get(), stores->registry.get(), *config, *spec, *day, options,
                                      &pool);
    if (!run.ok()) return fail(run.status());
    const ml::TrainRunResult& r = *run;
    std::optional<ml::PromotionDecision> decision;
    ml::PromoteOutcome outcome;
    if (!args->no_promote) {
      // One key per run: running promotion again for this run cannot move aliases twice.
      auto d = ml::EvaluateAndPromote(stores->tracker.get(), stores->registry.get(), args->model_name,
                                      r.version->version, args->policy, "train:" + r.run_id, &pool, &outcome,
                                      {r.matrix.get(), r.feature_spec_sha256});
      if (!d.ok()) return fail(d.status());
      decision = *d;
    }
    auto champion = stores->registry->GetAlias(args->model_name, ml::kChampion);
    if (!champion.ok()) return fail(champion.status());
    const ml::TrainResult& t = r.train;
    if (args->json) {
      json j = {{"run_id", r.run_id},
                {"experiment", args->experiment},
                {"model_name", args->model_name},
                {"version", r.version->version},
                {"kind", r.version->kind},
                {"threshold", t.threshold},
                {"rounds", t.rounds},
                {"positive_weight", t.positive_weight},
                {"validation_verdict", r.validation},
                {"data_from", DayOrDash(r.data_from)},
                {"test_from", DayOrDash(r.test_from)},
                {"data_to", LastDayOrDash(r.data_to)},
                {"rows", {{"train", t.split.fit.size()}, {"validation", t.split.validation.size()},
                          {"test", t.split.test.size()}}},
                {"metrics", {{"validation", MetricsJson(t.validation)}, {"test", MetricsJson(t.test)}}},
                {"promotion", decision ? DecisionJson(*decision) : json(nullptr)},
                {"promoted", outcome.moved},
                {"champion", *champion ? json((*champion)->version) : json(nullptr)}};
      std::cout << j.dump(2) << "\n";
    } else {
      std::printf("run %s (experiment %s): %s on %s .. %s, test from %s; %zu / %zu / %zu train / validation / test rows\n",
                  r.run_id.c_str(), args->experiment.c_str(), r.version->kind.c_str(), DayOrDash(r.data_from).c_str(),
                  LastDayOrDash(r.data_to).c_str(), DayOrDash(r.test_from).c_str(), t.split.fit.size(),
                  t.split.validation.size(), t.split.test.size());
      for (const auto& [name, m] : {std::pair{"validation", &t.validation}, std::pair{"test", &t.test}})
        std::printf("  %-10s AUPRC %.4f  ROC-AUC %.4f  precision %.3f  recall %.3f  F1 %.3f  card P@%d %.3f  "
                    "(%lld rows, %lld frauds)\n",
                    name, m->auprc, m->roc_auc, m->precision, m->recall, m->f1, m->k, m->card_precision_at_k,
                    static_cast<long long>(m->rows), static_cast<long long>(m->positives));
      std::printf("  threshold %.6g; validation of %s: %s\n", t.threshold, LastDayOrDash(r.data_to).c_str(),
                  r.validation.c_str());
      std::printf("registered %s version %lld\n", args->model_name.c_str(),
                  static_cast<long long>(r.version->version));
      if (decision) std::printf("promotion: %s\n", decision->reason.c_str());
      const std::string champion_text = *champion ? "version " + std::to_string((*champion)->version) : "none";
      std::printf("champion: %s\n", champion_text.c_str());
    }
  });
}

void RegisterRuns(CLI::App* app, AppContext* ctx, int* exit_code) {
  CLI::App* runs = app->add_subcommand("runs", "Tracked training runs: list, show, compare");
  runs->require_subcommand(1);

  struct ListArgs {
    std::string experiment, db;
    bool json = false;
  };
  auto list_args = std::make_shared<ListArgs>();
  CLI::App* list = runs->add_subcommand("list", "Runs, newest first");
  list->add_option("--experiment", list_args->experiment, "Only this experiment's runs");
  AddDbOption(list, &list_args->db);
  list->add_flag("--json", list_args->json, "Print JSON");
  list->callback([list_args, ctx, exit_code] {
    auto stores = ml::OpenMlStore(list_args->db, ctx->settings.data_dir);
    if (!stores.ok()) return void(*exit_code = ReportError(stores.status()));
    auto all = stores->tracker->ListRunSummaries(list_args->experiment);
    if (!all.ok()) return void(*exit_code = ReportError(all.status()));
    json out = json::array();
    for (const ml::RunSummary& s : *all) {
      const ml::RunInfo& r = s.info;
      const auto& metrics = s.last_metrics;
      const double auprc = metrics.count("test.auprc") ? metrics.at("test.auprc") : NAN;
      const std::string decision = s.tags.count("promotion.decision") ? s.tags.at("promotion.decision") : "-";
      if (list_args->json) {
        json j = RunJson(r);
        j["test_auprc"] = std::isnan(auprc) ? json(nullptr) : json(auprc);
        j["promotion"] = decision;
        out.push_back(j);
      } else {
        std::printf("%s  %-10s %-8s %s .. %s  test AUPRC %s  promotion %s%s\n", r.run_id.c_str(),
                    r.experiment.c_str(), ml::RunStatusName(r.status), DayOrDash(r.data_from).c_str(),
                    LastDayOrDash(r.data_to).c_str(), std::isnan(auprc) ? "-" : fmt::format("{:.4f}", auprc).c_str(),
                    decision.c_str(), r.error.empty() ? "" : ("  error: " + r.error).c_str());
      }
    }
    if (list_args->json) std::cout << out.dump(2) << "\n";
  });

  struct ShowArgs {
    std::string run, db;
    bool json = false;
  };
  auto show_args = std::make_shared<ShowArgs>();
  CLI::App* show = runs->add_subcommand("show", "One run: params, metrics, tags, artifacts");
  show->add_option("run", show_args->run, "Run id")->required();
  AddDbOption(show, &show_args->db);
  show->add_flag("--json", show_args->json, "Print JSON");
  show->callback([show_args, ctx, exit_code] {
    auto stores = ml::OpenMlStore(show_args->db, ctx->settings.data_dir);
    if (!stores.ok()) return void(*exit_code = ReportError(stores.status()));
    auto d = stores->tracker->GetRunDetails(show_args->run);
    if (!d.ok()) return void(*exit_code = ReportError(d.status()));
    if (show_args->json) {
      std::cout << RunDetailsJson(*d).dump(2) << "\n";
      return;
    }
    const ml::RunInfo& r = d->info;
    std::printf("run %s\n  experiment %s\n  status %s%s\n  source %s\n  data %s .. %s (test from %s)\n"
                "  rows %lld train, %lld validation, %lld test\n",
                r.run_id.c_str(), r.experiment.c_str(), ml::RunStatusName(r.status),
                r.error.empty() ? "" : (" (" + r.error + ")").c_str(), r.source_version.c_str(),
                DayOrDash(r.data_from).c_str(), LastDayOrDash(r.data_to).c_str(), DayOrDash(r.test_from).c_str(),
                static_cast<long long>(r.train_rows), static_cast<long long>(r.validation_rows),
                static_cast<long long>(r.test_rows));
    std::printf("params\n");
    for (const auto& [k, v] : d->params) std::printf("  %-32s %s\n", k.c_str(), v.c_str());
    std::printf("metrics\n");
    for (const auto& [k, v] : LastMetrics(*d)) std::printf("  %-32s %.6g\n", k.c_str(), v);
    std::printf("tags\n");
    for (const auto& [k, v] : d->tags) std::printf("  %-32s %s\n", k.c_str(), v.c_str());
    std::printf("artifacts\n");
    for (const ml::ArtifactInfo& a : d->artifacts)
      std::printf("  %-32s %10lld bytes  %-18s %s\n", a.name.c_str(), static_cast<long long>(a.size),
                  a.media_type.c_str(), a.sha256.c_str());
  });

  struct CompareArgs {
    std::vector<std::string> runs;
    std::string db;
    bool json = false;
  };
  auto cmp_args = std::make_shared<CompareArgs>();
  CLI::App* compare = runs->add_subcommand("compare", "Two runs' params and metrics side by side");
  compare->add_option("runs", cmp_args->runs, "Two run ids")->required()->expected(2);
  AddDbOption(compare, &cmp_args->db);
  compare->add_flag("--json", cmp_args->json, "Print JSON");
  compare->callback([cmp_args, ctx, exit_code] {
    auto stores = ml::OpenMlStore(cmp_args->db, ctx->settings.data_dir);
    if (!stores.ok()) return void(*exit_code = ReportError(stores.status()));
    auto a = stores->tracker->GetRunDetails(cmp_args->runs[0]);
    if (!a.ok()) return void(*exit_code = ReportError(a.status()));
    auto b = stores->tracker->GetRunDetails(cmp_args->runs[1]);
    if (!b.ok()) return void(*exit_code = ReportError(b.status()));
    std::set<std::string> param_keys, metric_keys;
    for (const auto& [k, v] : a->params) param_keys.insert(k);
    for (const auto& [k, v] : b->params) param_keys.insert(k);
    const auto ma = LastMetrics(*a), mb = LastMetrics(*b);
    for (const auto& [k, v] : ma) metric_keys.insert(k);
    for (const auto& [k, v] : mb) metric_keys.insert(k);
    auto get = [](const auto& m, const std::string& k) -> std::optional<typename std::decay_t<decltype(m)>::mapped_type> {
      auto it = m.find(k);
      if (it == m.end()) return std::nullopt;
      return it->second;
    };
    if (cmp_args->json) {
      json params = json::object(), metrics = json::object();
      for (const std::string& k : param_keys) {
        auto va = get(a->params, k), vb = get(b->params, k);
        params[k] = {va ? json(*va) : json(nullptr), vb ? json(*vb) : json(nullptr)};
        params[k].push_back(va != vb);  // [a, b, differs]
      }
      for (const std::string& k : metric_keys) {
        auto va = get(ma, k), vb = get(mb, k);
        metrics[k] = {va ? json(*va) : json(nullptr), vb ? json(*vb) : json(nullptr)};
      }
      std::cout << json{{"runs", cmp_args->runs}, {"params", params}, {"metrics", metrics}}.dump(2) << "\n";
      return;
    }
    std::printf("%-32s %-34s %-34s\n", "", cmp_args->runs[0].c_str(), cmp_args->runs[1].c_str());
    std::printf("params\n");
    for (const std::string& k : param_keys) {
      auto va = get(a->params, k), vb = get(b->params, k);
      std::printf("%s %-30s %-34s %-34s\n", va != vb ? "*" : " ", k.c_str(), va ? va->c_str() : "-",
                  vb ? vb->c_str() : "-");
    }
    std::printf("metrics\n");
    for (const std::string& k : metric_keys) {
      auto va = get(ma, k), vb = get(mb, k);
      std::printf("  %-30s %-34s %-34s\n", k.c_str(), va ? fmt::format("{:.6g}", *va).c_str() : "-",
                  vb ? fmt::format("{:.6g}", *vb).c_str() : "-");
    }
  });
}

void PrintVersion(const char* what, const ml::ModelVersion& v) {
  std::printf("%s %s version %lld (run %s, %s, threshold %.6g)\n", what, v.name.c_str(),
              static_cast<long long>(v.version), v.run_id.c_str(), v.kind.c_str(), v.threshold);
}

void RegisterModels(CLI::App* app, AppContext* ctx, int* exit_code) {
  CLI::App* models = app->add_subcommand("models", "The model registry: list, promote, rollback");
  models->require_subcommand(1);

  struct ListArgs {
    std::string db;
    bool json = false;
  };
  auto list_args = std::make_shared<ListArgs>();
  CLI::App* list = models->add_subcommand("list", "Registered models, their versions and aliases");
  AddDbOption(list, &list_args->db);
  list->add_flag("--json", list_args->json, "Print JSON");
  list->callback([list_args, ctx, exit_code] {
    auto stores = ml::OpenMlStore(list_args->db, ctx->settings.data_dir);
    if (!stores.ok()) return void(*exit_code = ReportError(stores.status()));
    auto all = stores->registry->ListModels();
    if (!all.ok()) return void(*exit_code = ReportError(all.status()));
    json out = json::array();
    for (const ml::RegisteredModel& m : *all) {
      auto versions = stores->registry->ListVersions(m.name);
      if (!versions.ok()) return void(*exit_code = ReportError(versions.status()));
      json vs = json::array();
      if (!list_args->json)
        std::printf("%s: %lld versions, champion %s, challenger %s\n", m.name.c_str(),
                    static_cast<long long>(m.latest_version),
                    m.champion ? std::to_string(*m.champion).c_str() : "none",
                    m.challenger ? std::to_string(*m.challenger).c_str() : "none");
      for (const ml::ModelVersion& v : *versions) {
        std::string aliases;
        if (m.champion == v.version) aliases += "champion";
        if (m.challenger == v.version) aliases += aliases.empty() ? "challenger" : ",challenger";
        if (list_args->json) {
          vs.push_back({{"version", v.version},
                        {"run_id", v.run_id},
                        {"kind", v.kind},
                        {"threshold", v.threshold},
                        {"model_sha256", v.model_sha256},
                        {"feature_spec_sha256", v.feature_spec_sha256},
                        {"created_at", v.created_at},
                        {"aliases", aliases}});
        } else {
          std::printf("  v%-4lld %-9s run %s  threshold %.6g  %s\n", static_cast<long long>(v.version),
                      v.kind.c_str(), v.run_id.c_str(), v.threshold, aliases.c_str());
        }
      }
      if (list_args->json)
        out.push_back({{"name", m.name},
                       {"champion", OptionalJson(m.champion)},
                       {"challenger", OptionalJson(m.challenger)},
                       {"versions", vs}});
    }
    if (list_args->json) std::cout << out.dump(2) << "\n";
  });

  struct PromoteArgs {
    std::string name, db;
    int64_t version = 0;
    bool json = false;
  };
  auto promote_args = std::make_shared<PromoteArgs>();
  CLI::App* promote = models->add_subcommand(
      "promote", "Make a version the champion now, without the promotion rule (its artifacts are verified first)");
  promote->add_option("name", promote_args->name, "Registered model")->required();
  promote->add_option("version", promote_args->version, "Version number")->required();
  AddDbOption(promote, &promote_args->db);
  promote->add_flag("--json", promote_args->json, "Print JSON");
  promote->callback([promote_args, ctx, exit_code] {
    auto stores = ml::OpenMlStore(promote_args->db, ctx->settings.data_dir);
    if (!stores.ok()) return void(*exit_code = ReportError(stores.status()));
    auto outcome = stores->registry->ForcePromote(promote_args->name, promote_args->version, "manual");
    if (!outcome.ok()) return void(*exit_code = ReportError(outcome.status()));
    if (promote_args->json) {
      std::cout << json{{"name", promote_args->name},
                        {"champion", OptionalJson(outcome->champion)},
                        {"previous_champion", OptionalJson(outcome->previous_champion)},
                        {"moved", outcome->moved}}
                       .dump(2)
                << "\n";
    } else {
      std::printf("%s: champion is version %lld (was %s)\n", promote_args->name.c_str(),
                  static_cast<long long>(promote_args->version),
                  outcome->previous_champion ? std::to_string(*outcome->previous_champion).c_str() : "none");
    }
  });

  struct RollbackArgs {
    std::string name, db;
    bool json = false;
  };
  auto rollback_args = std::make_shared<RollbackArgs>();
  CLI::App* rollback = models->add_subcommand("rollback", "Move the champion back to the previous champion");
  rollback->add_option("name", rollback_args->name, "Registered model")->required();
  AddDbOption(rollback, &rollback_args->db);
  rollback->add_flag("--json", rollback_args->json, "Print JSON");
  rollback->callback([rollback_args, ctx, exit_code] {
    auto stores = ml::OpenMlStore(rollback_args->db, ctx->settings.data_dir);
    if (!stores.ok()) return void(*exit_code = ReportError(stores.status()));
    auto v = stores->registry->Rollback(rollback_args->name);
    if (!v.ok()) return void(*exit_code = ReportError(v.status()));
    if (rollback_args->json)
      std::cout << json{{"name", v->name}, {"champion", v->version}, {"run_id", v->run_id}}.dump(2) << "\n";
    else
      PrintVersion("champion:", *v);
  });
}

}  // namespace

void RegisterMlCommands(CLI::App* app, AppContext* ctx, int* exit_code) {
  RegisterTrain(app, ctx, exit_code);
  RegisterRuns(app, ctx, exit_code);
  RegisterModels(app, ctx, exit_code);
}

}  // namespace lathe::app
