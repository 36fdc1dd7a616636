#include "storage/migrations.h"

#include <ctime>
#include <set>

namespace lathe::storage {
namespace {

// Serialises concurrent migrators on one PostgreSQL database.
constexpr int64_t kPgMigrationLock = 0x6c617468;  // "lath"

std::string ForEngine(std::string sql, DbEngine engine) {
  const std::string token = "{{ID}}";
  const std::string id = engine == DbEngine::kSqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY";
  for (size_t p; (p = sql.find(token)) != std::string::npos;) sql.replace(p, token.size(), id);
  return sql;
}

}  // namespace

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "transactions, customers, terminals", R"sql(
CREATE TABLE customers (
  customer_id BIGINT PRIMARY KEY,
  x DOUBLE PRECISION,
  y DOUBLE PRECISION,
  country TEXT,
  mean_amount DOUBLE PRECISION,
  std_amount DOUBLE PRECISION,
  tx_per_day DOUBLE PRECISION
);
CREATE TABLE terminals (
  terminal_id BIGINT PRIMARY KEY,
  x DOUBLE PRECISION NOT NULL,
  y DOUBLE PRECISION NOT NULL,
  country TEXT NOT NULL,
  merchant_category TEXT NOT NULL,
  channel TEXT NOT NULL
);
CREATE TABLE transactions (
  transaction_id BIGINT PRIMARY KEY,
  ts BIGINT NOT NULL,
  customer_id BIGINT NOT NULL,
  terminal_id BIGINT NOT NULL,
  amount DOUBLE PRECISION NOT NULL,
  currency TEXT NOT NULL,
  channel TEXT NOT NULL,
  merchant_category TEXT NOT NULL,
  country TEXT NOT NULL,
  device_id TEXT,
  is_fraud INTEGER NOT NULL,
  fraud_scenario TEXT NOT NULL,
  label_ts BIGINT
);
CREATE INDEX transactions_ts ON transactions (ts);
)sql"},
      {2, "quarantine", R"sql(
CREATE TABLE quarantine (
  quarantine_id {{ID}},
  source TEXT NOT NULL,
  line BIGINT NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  transaction_id BIGINT,
  ts BIGINT,
  raw TEXT NOT NULL,
  quarantined_at BIGINT NOT NULL
);
CREATE INDEX quarantine_ts ON quarantine (ts);
)sql"},
      {3, "validation results", R"sql(
CREATE TABLE validation_results (
  result_id {{ID}},
  suite TEXT NOT NULL,
  day TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  passed INTEGER NOT NULL,
  failed_checks INTEGER NOT NULL,
  warned_checks INTEGER NOT NULL,
  row_count BIGINT NOT NULL,
  json_path TEXT NOT NULL,
  html_path TEXT NOT NULL,
  result_json TEXT NOT NULL
);
CREATE INDEX validation_results_day ON validation_results (day);
)sql"},
      {4, "experiment tracking", R"sql(
CREATE TABLE experiments (
  experiment_id {{ID}},
  name TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);
CREATE TABLE runs (
  run_number {{ID}},
  run_id TEXT NOT NULL UNIQUE,
  experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
  status TEXT NOT NULL,
  start_time BIGINT NOT NULL,
  end_time BIGINT,
  source_version TEXT NOT NULL,
  data_from BIGINT,
  data_to BIGINT,
  test_from BIGINT,
  train_rows BIGINT,
  validation_rows BIGINT,
  test_rows BIGINT,
  error TEXT
);
CREATE INDEX runs_experiment ON runs (experiment_id, start_time);
CREATE TABLE run_params (
  run_id TEXT NOT NULL REFERENCES runs (run_id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
);
CREATE TABLE run_metrics (
  metric_id {{ID}},
  run_id TEXT NOT NULL REFERENCES runs (run_id),
  key TEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  step BIGINT NOT NULL,
  ts BIGINT NOT NULL
);
CREATE INDEX run_metrics_run ON run_metrics (run_id, key, step);
CREATE TABLE run_tags (
  run_id TEXT NOT NULL REFERENCES runs (run_id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
);
CREATE TABLE run_artifacts (
  run_id TEXT NOT NULL REFERENCES runs (run_id),
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size BIGINT NOT NULL,
  media_type TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (run_id, name)
);
)sql"},
      {5, "model registry", R"sql(
CREATE TABLE registered_models (
  name TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL
);
CREATE TABLE model_versions (
  name TEXT NOT NULL REFERENCES registered_models (name),
  version BIGINT NOT NULL,
  run_id TEXT NOT NULL REFERENCES runs (run_id),
  kind TEXT NOT NULL,
  model_sha256 TEXT NOT NULL,
  feature_spec_sha256 TEXT NOT NULL,
  threshold DOUBLE PRECISION NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE TABLE model_aliases (
  name TEXT NOT NULL REFERENCES registered_models (name),
  alias TEXT NOT NULL,
  version BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (name, alias)
);
CREATE TABLE model_alias_history (
  history_id {{ID}},
  name TEXT NOT NULL,
  alias TEXT NOT NULL,
  version BIGINT,
  previous_version BIGINT,
  reason TEXT NOT NULL,
  decision_id BIGINT,
  idempotency_key TEXT,
  changed_at BIGINT NOT NULL
);
CREATE INDEX model_alias_history_name ON model_alias_history (name, alias, history_id);
CREATE TABLE promotion_decisions (
  decision_id {{ID}},
  name TEXT NOT NULL,
  challenger_version BIGINT NOT NULL,
  champion_version BIGINT,
  run_id TEXT NOT NULL,
  promote INTEGER NOT NULL,
  reason TEXT NOT NULL,
  challenger_auprc DOUBLE PRECISION NOT NULL,
  champion_auprc DOUBLE PRECISION,
  ci_low DOUBLE PRECISION,
  ci_high DOUBLE PRECISION,
  margin DOUBLE PRECISION NOT NULL,
  confidence DOUBLE PRECISION NOT NULL,
  n_bootstrap INTEGER NOT NULL,
  test_from BIGINT NOT NULL,
  test_to BIGINT NOT NULL,
  test_rows BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  decision_json TEXT NOT NULL
);
CREATE TABLE promotion_applies (
  idempotency_key TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  version BIGINT NOT NULL,
  decision_id BIGINT,
  moved INTEGER NOT NULL,
  champion_version BIGINT,
  previous_champion BIGINT,
  applied_at BIGINT NOT NULL
);
)sql"},
      {6, "pipeline state: dag runs, task instances, task tries", R"sql(
CREATE TABLE pipeline_runs (
  run_id TEXT PRIMARY KEY,
  dag_id TEXT NOT NULL,
  ds TEXT NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  ended_at BIGINT,
  owner_pid BIGINT,
  owner_host TEXT,
  dag_path TEXT NOT NULL,
  UNIQUE (dag_id, ds)
);
CREATE INDEX pipeline_runs_dag ON pipeline_runs (dag_id, ds);
CREATE TABLE pipeline_task_instances (
  run_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  state TEXT NOT NULL,
  tries BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (run_id, task_id)
);
CREATE TABLE pipeline_task_tries (
  run_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  try_number BIGINT NOT NULL,
  state TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  ended_at BIGINT,
  exit_reason TEXT NOT NULL,
  pid BIGINT NOT NULL,
  log_path TEXT NOT NULL,
  log_text TEXT,
  outputs TEXT,
  PRIMARY KEY (run_id, task_id, try_number)
);
)sql"},
  };
  return kMigrations;
}

Status Migrate(Db* db) {
  bool pg = db->engine() == DbEngine::kPostgres;
  if (pg) LATHE_RETURN_IF_ERROR(db->Exec("SELECT pg_advisory_lock(" + std::to_string(kPgMigrationLock) + ")"));
  auto run = [&]() -> Status {
    LATHE_RETURN_IF_ERROR(db->Exec(
        "CREATE TABLE IF NOT EXISTS db_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at BIGINT NOT NULL)"));
    std::set<int> applied;
    LATHE_RETURN_IF_ERROR(db->Query("SELECT version FROM db_migrations", {}, [&](const DbRow& r) {
      applied.insert(static_cast<int>(r.Int(0)));
      return Status::OK();
    }));
    int latest = Migrations().back().version;
    if (!applied.empty() && *applied.rbegin() > latest)
      return FailedPrecondition(db->url() + ": database schema version " + std::to_string(*applied.rbegin()) +
                                " is newer than this lathe (" + std::to_string(latest) + ")");
    for (const Migration& m : Migrations()) {
      if (applied.count(m.version)) continue;
      DbTransaction tx(db);
      LATHE_RETURN_IF_ERROR(tx.status());
      Status st = db->Exec(ForEngine(m.sql, db->engine()));
      if (!st.ok()) return Status(st.code(), "migration " + std::to_string(m.version) + " (" + m.name + "): " + st.message());
      LATHE_RETURN_IF_ERROR(db->Execute("INSERT INTO db_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                                        {int64_t{m.version}, m.name, static_cast<int64_t>(std::time(nullptr))})
                                .status());
      LATHE_RETURN_IF_ERROR(tx.Commit());
    }
    return Status::OK();
  };
  Status st = run();
  if (pg) (void)db->Exec("SELECT pg_advisory_unlock(" + std::to_string(kPgMigrationLock) + ")");
  return st;
}

}  // namespace lathe::storage
