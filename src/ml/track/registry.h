// Registry: registered models with numbered versions linked to tracked runs,
// the aliases "champion" and "challenger", the history of every alias move
// (so rollback can restore the previous champion), promotion decisions, and
// exactly-once promotion by idempotency key. Model bytes and feature specs
// live in the ArtifactStore and are verified whenever they are read.
// One Registry wraps one Db connection: not thread-safe; several processes
// may share the database (alias moves are transactions).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "ml/track/artifact_store.h"
#include "storage/db.h"

namespace lathe::ml {

inline constexpr const char* kChampion = "champion";
inline constexpr const char* kChallenger = "challenger";

struct ModelVersion {
  std::string name;
  int64_t version = 0;
  std::string run_id;
  std::string kind;                 // "xgboost" | "logistic"
  std::string model_sha256;         // artifact holding TrainResult::model_bytes
  std::string feature_spec_sha256;  // artifact holding the feature spec YAML text
  double threshold = 0;
  int64_t created_at = 0;
};

// A version with its verified artifacts, ready to score.
struct ModelArtifacts {
  ModelVersion version;
  std::string model_bytes;
  std::string feature_spec_yaml;
};

struct RegisteredModel {
  std::string name;
  int64_t created_at = 0;
  int64_t latest_version = 0;
  std::optional<int64_t> champion, challenger;
};

// One move of an alias. version nullopt = the alias was removed.
struct AliasChange {
  int64_t history_id = 0;
  std::string alias;
  std::optional<int64_t> version, previous_version;
  std::string reason;  // "promoted", "first model", "manual", "rollback", "registered", ...
  std::optional<int64_t> decision_id;
  std::string idempotency_key;
  int64_t changed_at = 0;
};

// The outcome of evaluating a challenger against the champion (promotion.h
// computes it; Registry::RecordDecision stores it).
struct PromotionDecision {
  int64_t decision_id = 0;  // set when recorded
  std::string name;
  int64_t challenger_version = 0;
  std::optional<int64_t> champion_version;  // nullopt: there was no champion
  std::string run_id;                       // the challenger's run
  bool promote = false;
  std::string reason;  // one line: why
  double challenger_auprc = 0, champion_auprc = 0;
  double difference = 0;          // challenger - champion on the full test window
  double ci_low = 0, ci_high = 0;  // paired bootstrap interval of the difference
  double margin = 0, confidence = 0;
  int n_bootstrap = 0;
  uint64_t seed = 0;
  int64_t test_from = 0, test_to = 0, test_rows = 0, test_positives = 0;
  int64_t created_at = 0;
};

struct PromoteOutcome {
  bool moved = false;            // champion now points at the version because of this key
  bool already_applied = false;  // the key had been applied before; nothing was done now
  std::optional<int64_t> champion, previous_champion;
};

class Registry {
 public:
  using Clock = std::function<int64_t()>;
  // db and store must outlive the registry. clock defaults to the wall clock.
  Registry(storage::Db* db, ArtifactStore* store, Clock clock = {});

  // Adds the next version of name (created on first use) for run_id and
  // makes it the challenger. Both artifacts must be in the store and intact
  // (Corruption otherwise); NotFound for an unknown run; InvalidArgument for
  // an unknown kind. Nothing changes on an error.
  Result<ModelVersion> RegisterVersion(const std::string& name, const std::string& run_id, const std::string& kind,
                                       const std::string& model_sha256, const std::string& feature_spec_sha256,
                                       double threshold);

  // NotFound names the model or version.
  Result<ModelVersion> GetVersion(const std::string& name, int64_t version);
  Result<std::vector<ModelVersion>> ListVersions(const std::string& name);
  // The version registered from a run (its first, if several); nullopt when
  // the run registered none.
  Result<std::optional<ModelVersion>> VersionOfRun(const std::string& run_id);
  Result<std::vector<RegisteredModel>> ListModels();
  // The version an alias points at; nullopt when it is not set (or the model
  // does not exist). InvalidArgument for an alias other than champion/challenger.
  Result<std::optional<ModelVersion>> GetAlias(const std::string& name, const std::string& alias);
  // Oldest first. NotFound for an unknown model.
  Result<std::vector<AliasChange>> AliasHistory(const std::string& name);
  // The version and its verified artifacts. Corruption names the artifact.
  Result<ModelArtifacts> Load(const std::string& name, int64_t version);
  // GetAlias then Load: what serving needs (nullopt when the alias is unset).
  Result<std::optional<ModelArtifacts>> LoadAlias(const std::string& name, const std::string& alias);

  // Stores a decision; returns its decision_id.
  Result<int64_t> RecordDecision(const PromotionDecision& decision);
  // NotFound for an unknown id.
  Result<PromotionDecision> GetDecision(int64_t decision_id);
  // Every decision recorded for the model, newest first.
  Result<std::vector<PromotionDecision>> ListDecisions(const std::string& name);

  // Applies a decision exactly once per idempotency_key. With
  // decision.promote the champion moves to version (its artifacts verified
  // first) and the challenger alias is cleared if it pointed there; without,
  // nothing moves. A second call with the same key returns the first call's
  // outcome with already_applied = true and changes nothing. InvalidArgument
  // when the key is empty, was used for another model or version, or the
  // decision is for another version; FailedPrecondition when the champion
  // has changed since the decision was made (evaluate again); NotFound for
  // an unknown model or version; Corruption for a damaged artifact.
  Result<PromoteOutcome> Promote(const std::string& name, int64_t version, const PromotionDecision& decision,
                                 const std::string& idempotency_key);
  // Makes version the champion without a decision (manual promotion).
  // An empty key is a fresh random one (no deduplication).
  Result<PromoteOutcome> ForcePromote(const std::string& name, int64_t version, const std::string& reason = "manual",
                                      const std::string& idempotency_key = "");
  // Moves the champion back to the one before it (a stack: rolling back
  // twice goes back two champions). NotFound for an unknown model;
  // FailedPrecondition when there is no champion or no previous one. Returns
  // the new champion.
  Result<ModelVersion> Rollback(const std::string& name);

  storage::Db* db() const { return db_; }
  ArtifactStore* store() const { return store_; }

 private:
  Status RequireModel(const std::string& name);
  Result<std::optional<int64_t>> AliasVersion(const std::string& name, const std::string& alias);
  // Inside a transaction: sets or clears alias and appends its history row.
  Status MoveAlias(const std::string& name, const std::string& alias, std::optional<int64_t> version,
                   std::optional<int64_t> previous_for_history, const std::string& reason,
                   std::optional<int64_t> decision_id, const std::string& idempotency_key);
  Result<PromoteOutcome> Apply(const std::string& name, int64_t version, bool promote, const std::string& reason,
                               std::optional<int64_t> decision_id, std::optional<int64_t> expected_champion,
                               bool check_expected, const std::string& idempotency_key);
  int64_t Now() const { return clock_(); }

  storage::Db* db_;
  ArtifactStore* store_;
  Clock clock_;
};

}  // namespace lathe::ml
