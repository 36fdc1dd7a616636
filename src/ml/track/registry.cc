#include "ml/track/registry.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/random_id.h"

namespace lathe::ml {
namespace {

using nlohmann::json;
using storage::DbRow;
using storage::DbValue;

constexpr const char* kVersionColumns =
    "name, version, run_id, kind, model_sha256, feature_spec_sha256, threshold, created_at";

ModelVersion ReadVersion(const DbRow& r) {
  return {std::string(r.Text(0)), r.Int(1),       std::string(r.Text(2)), std::string(r.Text(3)),
          std::string(r.Text(4)), std::string(r.Text(5)), r.Double(6),   r.Int(7)};
}

DbValue Opt(std::optional<int64_t> v) { return v ? DbValue{*v} : DbValue{}; }
std::optional<int64_t> OptInt(const DbRow& r, int col) {
  return r.IsNull(col) ? std::nullopt : std::optional<int64_t>(r.Int(col));
}

json DecisionToJson(const PromotionDecision& d) {
  return json{{"decision_id", d.decision_id},
              {"name", d.name},
              {"challenger_version", d.challenger_version},
              {"champion_version", d.champion_version ? json(*d.champion_version) : json(nullptr)},
              {"run_id", d.run_id},
              {"promote", d.promote},
              {"reason", d.reason},
              {"challenger_auprc", d.challenger_auprc},
              {"champion_auprc", d.champion_auprc},
              {"difference", d.difference},
              {"ci_low", d.ci_low},
              {"ci_high", d.ci_high},
              {"margin", d.margin},
              {"confidence", d.confidence},
              {"n_bootstrap", d.n_bootstrap},
              {"seed", d.seed},
              {"test_from", d.test_from},
              {"test_to", d.test_to},
              {"test_rows", d.test_rows},
              {"test_positives", d.test_positives},
              {"created_at", d.created_at}};
}

// A decision from its stored JSON; Corruption names the decision when the
// text is not readable.
Result<PromotionDecision> ParseDecision(int64_t decision_id, const std::string& text) {
  try {
    json j = json::parse(text);
    PromotionDecision d;
    d.decision_id = j.at("decision_id");
    d.name = j.at("name");
    d.challenger_version = j.at("challenger_version");
    if (!j.at("champion_version").is_null()) d.champion_version = j.at("champion_version").get<int64_t>();
    d.run_id = j.at("run_id");
    d.promote = j.at("promote");
    d.reason = j.at("reason");
    d.challenger_auprc = j.at("challenger_auprc");
    d.champion_auprc = j.at("champion_auprc");
    d.difference = j.at("difference");
    d.ci_low = j.at("ci_low");
    d.ci_high = j.at("ci_high");
    d.margin = j.at("margin");
    d.confidence = j.at("confidence");
    d.n_bootstrap = j.at("n_bootstrap");
    d.seed = j.at("seed");
    d.test_from = j.at("test_from");
    d.test_to = j.at("test_to");
    d.test_rows = j.at("test_rows");
    d.test_positives = j.at("test_positives");
    d.created_at = j.at("created_at");
    return d;
  } catch (const json::exception& e) {
    return Corruption(fmt::format("promotion decision {} is not readable: {}", decision_id, e.what()));
  }
}

}  // namespace

Registry::Registry(storage::Db* db, ArtifactStore* store, Clock clock)
    : db_(db), store_(store), clock_(clock ? std::move(clock) : Clock([] { return UnixSeconds(); })) {}

Status Registry::RequireModel(const std::string& name) {
  LATHE_ASSIGN_OR_RETURN(int64_t n, db_->QueryInt("SELECT COUNT(*) FROM registered_models WHERE name = $1", {name}));
  if (n == 0) return NotFound(fmt::format("no registered model '{}'", name));
  return Status::OK();
}

Result<std::optional<int64_t>> Registry::AliasVersion(const std::string& name, const std::string& alias) {
  std::optional<int64_t> v;
  LATHE_RETURN_IF_ERROR(db_->Query("SELECT version FROM model_aliases WHERE name = $1 AND alias = $2", {name, alias},
                                   [&](const DbRow& r) {
                                     v = r.Int(0);
                                     return Status::OK();
                                   }));
  return v;
}

Status Registry::MoveAlias(const std::string& name, const std::string& alias, std::optional<int64_t> version,
                           std::optional<int64_t> previous_for_history, const std::string& reason,
                           std::optional<int64_t> decision_id, const std::string& idempotency_key) {
  const int64_t now = Now();
  LATHE_RETURN_IF_ERROR(
      db_->Execute("DELETE FROM model_aliases WHERE name = $1 AND alias = $2", {name, alias}).status());
  if (version)
    LATHE_RETURN_IF_ERROR(db_->Execute("INSERT INTO model_aliases (name, alias, version, updated_at) "
                                       "VALUES ($1, $2, $3, $4)",
                                       {name, alias, *version, now})
                              .status());
  DbValue key = idempotency_key.empty() ? DbValue{} : DbValue{idempotency_key};
  return db_
      ->Execute("INSERT INTO model_alias_history (name, alias, version, previous_version, reason, decision_id, "
                "idempotency_key, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                {name, alias, Opt(version), Opt(previous_for_history), reason, Opt(decision_id), key, now})
      .status();
}

Result<ModelVersion> Registry::RegisterVersion(const std::string& name, const std::string& run_id,
                                               const std::string& kind, const std::string& model_sha256,
                                               const std::string& feature_spec_sha256, double threshold) {
  if (name.empty()) return InvalidArgument("a registered model needs a name");
  if (kind != "xgboost" && kind != "logistic")
    return InvalidArgument(fmt::format("model kind must be xgboost or logistic, got '{}'", kind));
  LATHE_ASSIGN_OR_RETURN(int64_t runs, db_->QueryInt("SELECT COUNT(*) FROM runs WHERE run_id = $1", {run_id}));
  if (runs == 0) return NotFound(fmt::format("no run '{}'", run_id));
  for (const auto& [what, sha] : {std::pair{"model", &model_sha256}, std::pair{"feature spec", &feature_spec_sha256}}) {
    Status st = store_->Verify(*sha);
    if (!st.ok()) return Status(st.code(), fmt::format("{} '{}' {}: {}", name, run_id, what, st.message()));
  }
  storage::DbTransaction tx(db_);
  LATHE_RETURN_IF_ERROR(tx.status());
  const int64_t now = Now();
  LATHE_ASSIGN_OR_RETURN(int64_t exists, db_->QueryInt("SELECT COUNT(*) FROM registered_models WHERE name = $1", {name}));
  if (exists == 0)
    LATHE_RETURN_IF_ERROR(
        db_->Execute("INSERT INTO registered_models (name, created_at) VALUES ($1, $2)", {name, now}).status());
  LATHE_ASSIGN_OR_RETURN(int64_t latest,
                         db_->QueryInt("SELECT COALESCE(MAX(version), 0) FROM model_versions WHERE name = $1", {name}));
  ModelVersion v{name, latest + 1, run_id, kind, model_sha256, feature_spec_sha256, threshold, now};
  LATHE_RETURN_IF_ERROR(db_->Execute(fmt::format("INSERT INTO model_versions ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                                                 kVersionColumns),
                                     {v.name, v.version, v.run_id, v.kind, v.model_sha256, v.feature_spec_sha256,
                                      v.threshold, v.created_at})
                            .status());
  LATHE_ASSIGN_OR_RETURN(std::optional<int64_t> challenger, AliasVersion(name, kChallenger));
  LATHE_RETURN_IF_ERROR(MoveAlias(name, kChallenger, v.version, challenger, "registered", std::nullopt, ""));
  LATHE_RETURN_IF_ERROR(tx.Commit());
  return v;
}

Result<ModelVersion> Registry::GetVersion(const std::string& name, int64_t version) {
  LATHE_RETURN_IF_ERROR(RequireModel(name));
  std::optional<ModelVersion> v;
  LATHE_RETURN_IF_ERROR(db_->Query(
      fmt::format("SELECT {} FROM model_versions WHERE name = $1 AND version = $2", kVersionColumns), {name, version},
      [&](const DbRow& r) {
        v = ReadVersion(r);
        return Status::OK();
      }));
  if (!v) return NotFound(fmt::format("model '{}' has no version {}", name, version));
  return *v;
}

Result<std::optional<ModelVersion>> Registry::VersionOfRun(const std::string& run_id) {
  std::optional<ModelVersion> v;
  LATHE_RETURN_IF_ERROR(db_->Query(
      fmt::format("SELECT {} FROM model_versions WHERE run_id = $1 ORDER BY version LIMIT 1", kVersionColumns),
      {run_id}, [&](const DbRow& r) {
        v = ReadVersion(r);
        return Status::OK();
      }));
  return v;
}

Result<std::vector<ModelVersion>> Registry::ListVersions(const std::string& name) {
  LATHE_RETURN_IF_ERROR(RequireModel(name));
  std::vector<ModelVersion> out;
  LATHE_RETURN_IF_ERROR(db_->Query(
      fmt::format("SELECT {} FROM model_versions WHERE name = $1 ORDER BY version", kVersionColumns), {name},
      [&](const DbRow& r) {
        out.push_back(ReadVersion(r));
        return Status::OK();
      }));
  return out;
}

Result<std::vector<RegisteredModel>> Registry::ListModels() {
  std::vector<RegisteredModel> out;
  LATHE_RETURN_IF_ERROR(db_->Query(
      "SELECT m.name, m.created_at, (SELECT COALESCE(MAX(version), 0) FROM model_versions v WHERE v.name = m.name), "
      "(SELECT version FROM model_aliases a WHERE a.name = m.name AND a.alias = 'champion'), "
      "(SELECT version FROM model_aliases a WHERE a.name = m.name AND a.alias = 'challenger') "
      "FROM registered_models m ORDER BY m.name",
      {}, [&](const DbRow& r) {
        out.push_back({std::string(r.Text(0)), r.Int(1), r.Int(2), OptInt(r, 3), OptInt(r, 4)});
        return Status::OK();
      }));
  return out;
}

Result<std::optional<ModelVersion>> Registry::GetAlias(const std::string& name, const std::string& alias) {
  if (alias != kChampion && alias != kChallenger)
    return InvalidArgument(fmt::format("alias must be champion or challenger, got '{}'", alias));
  std::optional<ModelVersion> v;
  LATHE_RETURN_IF_ERROR(db_->Query(
      "SELECT v.name, v.version, v.run_id, v.kind, v.model_sha256, v.feature_spec_sha256, v.threshold, v.created_at "
      "FROM model_aliases a JOIN model_versions v ON v.name = a.name AND v.version = a.version "
      "WHERE a.name = $1 AND a.alias = $2",
      {name, alias}, [&](const DbRow& r) {
        v = ReadVersion(r);
        return Status::OK();
      }));
  return v;
}

Result<std::vector<AliasChange>> Registry::AliasHistory(const std::string& name) {
  LATHE_RETURN_IF_ERROR(RequireModel(name));
  std::vector<AliasChange> out;
  LATHE_RETURN_IF_ERROR(db_->Query(
      "SELECT history_id, alias, version, previous_version, reason, decision_id, idempotency_key, changed_at "
      "FROM model_alias_history WHERE name = $1 ORDER BY history_id",
      {name}, [&](const DbRow& r) {
        out.push_back({r.Int(0), std::string(r.Text(1)), OptInt(r, 2), OptInt(r, 3), std::string(r.Text(4)),
                       OptInt(r, 5), std::string(r.Text(6)), r.Int(7)});
        return Status::OK();
      }));
  return out;
}

Result<ModelArtifacts> Registry::Load(const std::string& name, int64_t version) {
  ModelArtifacts m;
  LATHE_ASSIGN_OR_RETURN(m.version, GetVersion(name, version));
  auto read = [&](const char* what, const std::string& sha, std::string* out) -> Status {
    auto bytes = store_->Read(sha);
    if (!bytes.ok())
      return Status(bytes.status().code(),
                    fmt::format("model '{}' version {}, {}: {}", name, version, what, bytes.status().message()));
    *out = std::move(bytes).value();
    return Status::OK();
  };
  LATHE_RETURN_IF_ERROR(read("model artifact", m.version.model_sha256, &m.model_bytes));
  LATHE_RETURN_IF_ERROR(read("feature spec artifact", m.version.feature_spec_sha256, &m.feature_spec_yaml));
  return m;
}

Result<std::optional<ModelArtifacts>> Registry::LoadAlias(const std::string& name, const std::string& alias) {
  LATHE_ASSIGN_OR_RETURN(std::optional<ModelVersion> v, GetAlias(name, alias));
  if (!v) return std::optional<ModelArtifacts>();
  LATHE_ASSIGN_OR_RETURN(ModelArtifacts m, Load(name, v->version));
  return std::optional<ModelArtifacts>(std::move(m));
}

Result<int64_t> Registry::RecordDecision(const PromotionDecision& d) {
  auto opt_double = [](bool has, double v) { return has ? DbValue{v} : DbValue{}; };
  const bool has_champion = d.champion_version.has_value();
  const std::string token = "pending-" + RandomHex(16);
  storage::DbTransaction tx(db_);
  LATHE_RETURN_IF_ERROR(tx.status());
  LATHE_RETURN_IF_ERROR(
      db_->Execute("INSERT INTO promotion_decisions (name, challenger_version, champion_version, run_id, promote, "
                   "reason, challenger_auprc, champion_auprc, ci_low, ci_high, margin, confidence, n_bootstrap, "
                   "test_from, test_to, test_rows, created_at, decision_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                   "$9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
                   {d.name, d.challenger_version, Opt(d.champion_version), d.run_id, int64_t{d.promote}, d.reason,
                    d.challenger_auprc, opt_double(has_champion, d.champion_auprc), opt_double(has_champion, d.ci_low),
                    opt_double(has_champion, d.ci_high), d.margin, d.confidence, int64_t{d.n_bootstrap}, d.test_from,
                    d.test_to, d.test_rows, d.created_at ? d.created_at : Now(), token})
          .status());
  // The row is found again by a random placeholder (portable: no RETURNING
  // through the streaming query path), then given its full JSON.
  LATHE_ASSIGN_OR_RETURN(int64_t id,
                         db_->QueryInt("SELECT decision_id FROM promotion_decisions WHERE decision_json = $1", {token}));
  PromotionDecision stored = d;
  stored.decision_id = id;
  if (!stored.created_at) stored.created_at = Now();
  LATHE_RETURN_IF_ERROR(db_->Execute("UPDATE promotion_decisions SET decision_json = $2 WHERE decision_id = $1",
                                     {id, DecisionToJson(stored).dump()})
                            .status());
  LATHE_RETURN_IF_ERROR(tx.Commit());
  return id;
}

Result<PromotionDecision> Registry::GetDecision(int64_t decision_id) {
  std::optional<std::string> text;
  LATHE_RETURN_IF_ERROR(db_->Query("SELECT decision_json FROM promotion_decisions WHERE decision_id = $1",
                                   {decision_id}, [&](const DbRow& r) {
                                     text = std::string(r.Text(0));
                                     return Status::OK();
                                   }));
  if (!text) return NotFound(fmt::format("no promotion decision {}", decision_id));
  return ParseDecision(decision_id, *text);
}

Result<std::vector<PromotionDecision>> Registry::ListDecisions(const std::string& name) {
  std::vector<PromotionDecision> out;
  LATHE_RETURN_IF_ERROR(db_->Query("SELECT decision_id, decision_json FROM promotion_decisions WHERE name = $1 "
                                   "ORDER BY decision_id DESC",
                                   {name}, [&](const DbRow& r) -> Status {
                                     LATHE_ASSIGN_OR_RETURN(PromotionDecision d,
                                                            ParseDecision(r.Int(0), std::string(r.Text(1))));
                                     out.push_back(std::move(d));
                                     return Status::OK();
                                   }));
  return out;
}

Result<PromoteOutcome> Registry::Apply(const std::string& name, int64_t version, bool promote,
                                       const std::string& reason, std::optional<int64_t> decision_id,
                                       std::optional<int64_t> expected_champion, bool check_expected,
                                       const std::string& key) {
  auto previous = [&]() -> Result<std::optional<PromoteOutcome>> {
    std::optional<PromoteOutcome> out;
    std::string other_name;
    int64_t other_version = 0;
    LATHE_RETURN_IF_ERROR(db_->Query("SELECT name, version, moved, champion_version, previous_champion FROM "
                                     "promotion_applies WHERE idempotency_key = $1",
                                     {key}, [&](const DbRow& r) {
                                       other_name = std::string(r.Text(0));
                                       other_version = r.Int(1);
                                       out = PromoteOutcome{r.Int(2) != 0, true, OptInt(r, 3), OptInt(r, 4)};
                                       return Status::OK();
                                     }));
    if (out && (other_name != name || other_version != version))
      return InvalidArgument(fmt::format("idempotency key '{}' was already used to promote '{}' version {}", key,
                                         other_name, other_version));
    return out;
  };
  LATHE_ASSIGN_OR_RETURN(std::optional<PromoteOutcome> done, previous());
  if (done) return *done;
  LATHE_ASSIGN_OR_RETURN(ModelVersion target, GetVersion(name, version));
  if (promote) {
    // Never make a version champion whose bytes could not be served.
    LATHE_RETURN_IF_ERROR(Load(name, version).status());
  }
  PromoteOutcome outcome;
  Status st = [&]() -> Status {
    storage::DbTransaction tx(db_);
    LATHE_RETURN_IF_ERROR(tx.status());
    LATHE_ASSIGN_OR_RETURN(std::optional<int64_t> champion, AliasVersion(name, kChampion));
    if (check_expected && champion != expected_champion)
      return FailedPrecondition(fmt::format(
          "the champion of '{}' is {} but the decision was made against {}: evaluate version {} again", name,
          champion ? "version " + std::to_string(*champion) : "none",
          expected_champion ? "version " + std::to_string(*expected_champion) : "none", version));
    outcome.previous_champion = champion;
    outcome.champion = champion;
    if (promote && champion != version) {
      LATHE_RETURN_IF_ERROR(MoveAlias(name, kChampion, version, champion, reason, decision_id, key));
      outcome.moved = true;
      outcome.champion = version;
      LATHE_ASSIGN_OR_RETURN(std::optional<int64_t> challenger, AliasVersion(name, kChallenger));
      if (challenger == version)
        LATHE_RETURN_IF_ERROR(MoveAlias(name, kChallenger, std::nullopt, challenger, "became champion", decision_id, key));
    }
    LATHE_RETURN_IF_ERROR(db_->Execute("INSERT INTO promotion_applies (idempotency_key, name, version, decision_id, "
                                       "moved, champion_version, previous_champion, applied_at) VALUES ($1, $2, $3, "
                                       "$4, $5, $6, $7, $8)",
                                       {key, name, version, Opt(decision_id), int64_t{outcome.moved},
                                        Opt(outcome.champion), Opt(outcome.previous_champion), Now()})
                              .status());
    return tx.Commit();
  }();
  if (!st.ok()) {
    // Another process may have applied the same key concurrently: its outcome stands.
    auto raced = previous();
    if (raced.ok() && *raced) return **raced;
    return st;
  }
  return outcome;
}

Result<PromoteOutcome> Registry::Promote(const std::string& name, int64_t version, const PromotionDecision& decision,
                                         const std::string& idempotency_key) {
  if (idempotency_key.empty()) return InvalidArgument("promote needs an idempotency key");
  if (decision.name != name || decision.challenger_version != version)
    return InvalidArgument(fmt::format("the decision is for '{}' version {}, not '{}' version {}", decision.name,
                                       decision.challenger_version, name, version));
  return Apply(name, version, decision.promote, decision.champion_version ? "promoted" : "first model",
               decision.decision_id ? std::optional<int64_t>(decision.decision_id) : std::nullopt,
               decision.champion_version, /*check_expected=*/true, idempotency_key);
}

Result<PromoteOutcome> Registry::ForcePromote(const std::string& name, int64_t version, const std::string& reason,
                                              const std::string& idempotency_key) {
  return Apply(name, version, true, reason, std::nullopt, std::nullopt, /*check_expected=*/false,
               idempotency_key.empty() ? "manual-" + RandomHex(8) : idempotency_key);
}

Result<ModelVersion> Registry::Rollback(const std::string& name) {
  LATHE_RETURN_IF_ERROR(RequireModel(name));
  storage::DbTransaction tx(db_);
  LATHE_RETURN_IF_ERROR(tx.status());
  LATHE_ASSIGN_OR_RETURN(std::optional<int64_t> champion, AliasVersion(name, kChampion));
  if (!champion) return FailedPrecondition(fmt::format("model '{}' has no champion to roll back", name));
  // Replay the champion's history as a stack: every promotion pushes, every
  // rollback pops; the entry under the top is the previous champion.
  std::vector<int64_t> stack;
  LATHE_RETURN_IF_ERROR(db_->Query("SELECT version, reason FROM model_alias_history WHERE name = $1 AND alias = "
                                   "'champion' ORDER BY history_id",
                                   {name}, [&](const DbRow& r) {
                                     if (r.Text(1) == "rollback") {
                                       if (!stack.empty()) stack.pop_back();
                                     } else if (!r.IsNull(0)) {
                                       stack.push_back(r.Int(0));
                                     }
                                     return Status::OK();
                                   }));
  if (stack.size() < 2 || stack.back() != *champion)
    return FailedPrecondition(
        fmt::format("model '{}' has no previous champion to roll back to (champion is version {})", name, *champion));
  const int64_t target_version = stack[stack.size() - 2];
  std::optional<int64_t> target = target_version;
  // Never roll back to a version whose bytes could not be served.
  LATHE_ASSIGN_OR_RETURN(ModelArtifacts loaded, Load(name, *target));
  const ModelVersion v = loaded.version;
  LATHE_RETURN_IF_ERROR(MoveAlias(name, kChampion, *target, champion, "rollback", std::nullopt, ""));
  LATHE_RETURN_IF_ERROR(tx.Commit());
  return v;
}

}  // namespace lathe::ml
