// The registry and the promotion rule end to end on generated data, on
// SQLite and PostgreSQL: the first model becomes champion, a better one is
// promoted, an identical one is kept, promotion is exactly-once per key, a
// stale decision is refused, rollback walks back through champions, state
// survives reopening; and every bad input leaves the registry unchanged.
#include "ml/track/registry.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/file_util.h"
#include "db_fixture.h"
#include "ml/data/generator.h"
#include "ml/data/transaction.h"
#include "ml/features/feature_input.h"
#include "ml/track/promotion.h"
#include "ml/track/train_run.h"

namespace lathe::ml {
namespace {

const char* kXgbConfig = R"(
model: xgboost
seed: 3
positive_weight: 1
split: {train_days: 14, validation_days: 4, gap_days: 3, test_days: 7}
min_train_rows: 500
xgboost: {n_estimators: 80, early_stopping_rounds: 15}
)";
const char* kLogisticConfig = R"(
model: logistic
split: {train_days: 14, validation_days: 4, gap_days: 3, test_days: 7}
min_train_rows: 500
)";
// A deliberately weak model: the amount alone.
const char* kWeakSpec = "name: weak\nversion: 1\nfeatures:\n  - {kind: amount}\n";

TrainConfig Config(const char* yaml) {
  auto c = ParseTrainConfig(yaml, "test");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

class RegistryTest : public test::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    GeneratorOptions o;
    o.days = 40;
    o.customers = 500;
    o.terminals = 1000;
    o.seed = 3;
    o.start_ts = *ParseDay("2026-01-01");
    o.compromised_terminals_per_day = 2e-3;  // enough fraud in a week to tell models apart
    auto stats = Generate(db_.get(), o);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    auto spec = ReadFile(std::string(LATHE_SOURCE_DIR) + "/features/fraud.yaml");
    ASSERT_TRUE(spec.ok());
    full_spec_ = *spec;
    Open();
  }
  void Open() {
    store_ = std::make_unique<ArtifactStore>(ArtifactStore::InDataDir(dir_.path()));
    tracker_ = std::make_unique<Tracker>(db_.get(), store_.get());
    registry_ = std::make_unique<Registry>(db_.get(), store_.get());
  }
  Result<TrainRunResult> TrainOn(const char* config, const std::string& spec, const std::string& day) {
    return TrainTrackRegister(tracker_.get(), registry_.get(), Config(config), spec, *ParseDay(day), {}, &pool_);
  }
  // Everything the registry holds, as one comparable string.
  std::string RegistryState() {
    std::string s;
    for (const char* sql :
         {"SELECT COUNT(*) FROM model_versions", "SELECT COUNT(*) FROM model_alias_history",
          "SELECT COUNT(*) FROM promotion_applies", "SELECT COALESCE(SUM(version * 10 + LENGTH(alias)), 0) FROM model_aliases"})
      s += std::to_string(*db_->QueryInt(sql)) + ",";
    return s;
  }
  std::optional<int64_t> Champion() {
    auto c = registry_->GetAlias("fraud", kChampion);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return *c ? std::optional<int64_t>((*c)->version) : std::nullopt;
  }

  CpuPool pool_{2};
  std::string full_spec_;
  std::unique_ptr<ArtifactStore> store_;
  std::unique_ptr<Tracker> tracker_;
  std::unique_ptr<Registry> registry_;
};

TEST_P(RegistryTest, PromotionLifecycle) {
  // v1: the weak baseline; there is no champion, so it becomes one.
  auto v1 = TrainOn(kLogisticConfig, kWeakSpec, "2026-02-01");
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  ASSERT_TRUE(v1->version);
  EXPECT_EQ(v1->version->version, 1);
  EXPECT_EQ(v1->validation, "none");
  auto challenger = registry_->GetAlias("fraud", kChallenger);
  ASSERT_TRUE(challenger.ok() && *challenger);
  EXPECT_EQ((*challenger)->version, 1);
  EXPECT_EQ(Champion(), std::nullopt);
  PromoteOutcome first;
  auto d1 = EvaluateAndPromote(tracker_.get(), registry_.get(), "fraud", 1, {}, "k1", &pool_, &first);
  ASSERT_TRUE(d1.ok()) << d1.status().ToString();
  EXPECT_TRUE(d1->promote);
  EXPECT_FALSE(d1->champion_version);
  EXPECT_TRUE(first.moved);
  EXPECT_EQ(Champion(), 1);
  EXPECT_FALSE(*registry_->GetAlias("fraud", kChallenger));  // it became the champion

  // v2: every feature, on a later window, validated that day.
  ASSERT_TRUE(db_->Execute("INSERT INTO validation_results (suite, day, created_at, passed, failed_checks, "
                           "warned_checks, row_count, json_path, html_path, result_json) VALUES ('transactions', "
                           "'2026-02-09', 1, 1, 0, 0, 100, 'a.json', 'a.html', '{\"passed\": true}')")
                  .ok());
  auto v2 = TrainOn(kXgbConfig, full_spec_, "2026-02-09");
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(v2->version->version, 2);
  EXPECT_EQ(v2->validation, "passed");
  auto d2 = EvaluatePromotion(tracker_.get(), registry_.get(), "fraud", 2, {}, &pool_,
                              {v2->matrix.get(), v2->feature_spec_sha256});
  ASSERT_TRUE(d2.ok()) << d2.status().ToString();
  EXPECT_TRUE(d2->promote) << d2->reason;
  EXPECT_EQ(d2->champion_version, 1);
  EXPECT_GT(d2->challenger_auprc, d2->champion_auprc + 0.01);
  EXPECT_GT(d2->ci_low, 0);
  EXPECT_EQ(d2->test_from, v2->test_from);
  EXPECT_EQ(d2->test_rows, static_cast<int64_t>(v2->train.split.test.size()));
  // The challenger's test AUPRC as measured by Train is the one the rule used.
  EXPECT_NEAR(d2->challenger_auprc, v2->train.test.auprc, 1e-9);
  EXPECT_EQ(Champion(), 1);  // evaluating moves nothing

  const std::string before = RegistryState();
  auto p2 = registry_->Promote("fraud", 2, *d2, "k2");
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  EXPECT_TRUE(p2->moved);
  EXPECT_FALSE(p2->already_applied);
  EXPECT_EQ(p2->previous_champion, 1);
  EXPECT_EQ(Champion(), 2);
  const std::string after = RegistryState();
  EXPECT_NE(before, after);
  // Exactly once: the same key again (a resumed pipeline) changes nothing.
  auto again = registry_->Promote("fraud", 2, *d2, "k2");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->already_applied);
  EXPECT_TRUE(again->moved);  // the first call's outcome
  EXPECT_EQ(RegistryState(), after);
  EXPECT_EQ(registry_->Promote("fraud", 1, *d1, "k2").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->Promote("fraud", 1, *d2, "k9").status().code(), StatusCode::kInvalidArgument);

  // The decision is on the challenger's run.
  auto run2 = tracker_->GetRunDetails(v2->run_id);
  ASSERT_TRUE(run2.ok());
  EXPECT_EQ(run2->tags.at("promotion.decision"), "promote");
  EXPECT_EQ(run2->tags.at("validation"), "passed");
  EXPECT_EQ(run2->tags.at("promotion.decision_id"), std::to_string(d2->decision_id));
  EXPECT_NE(run2->tags.at("promotion.reason").find("margin 0.0100"), std::string::npos);
  bool has_decision = false;
  std::set<std::string> names;
  for (const ArtifactInfo& a : run2->artifacts) names.insert(a.name);
  has_decision = names.count("promotion_decision_" + std::to_string(d2->decision_id) + ".json") > 0;
  EXPECT_TRUE(has_decision);
  for (const char* n : {"model.json", "feature_spec.yaml", "threshold.json", "pr_curve.json", "roc_curve.json",
                        "validation_result.json"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_EQ(*tracker_->ReadArtifact(v2->run_id, "validation_result.json"), "{\"passed\": true}");
  for (const auto& [key, value] : TrainConfigParams(Config(kXgbConfig))) EXPECT_EQ(run2->params.at(key), value) << key;
  EXPECT_EQ(run2->info.status, RunStatus::kFinished);
  EXPECT_EQ(run2->info.test_rows, static_cast<int64_t>(v2->train.split.test.size()));
  auto stored = registry_->GetDecision(d2->decision_id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->ci_low, d2->ci_low);
  EXPECT_EQ(stored->n_bootstrap, 1000);

  // v3: the same training again gives the same model: no gain, kept.
  auto v3 = TrainOn(kXgbConfig, full_spec_, "2026-02-09");
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();
  EXPECT_EQ(v3->version->model_sha256, v2->version->model_sha256);
  auto d3 = EvaluatePromotion(tracker_.get(), registry_.get(), "fraud", 3, {}, &pool_);  // features recomputed
  ASSERT_TRUE(d3.ok()) << d3.status().ToString();
  EXPECT_FALSE(d3->promote);
  EXPECT_EQ(d3->difference, 0);
  EXPECT_NE(d3->reason.find("below the margin"), std::string::npos) << d3->reason;
  auto p3 = registry_->Promote("fraud", 3, *d3, "k3");
  ASSERT_TRUE(p3.ok());
  EXPECT_FALSE(p3->moved);
  EXPECT_EQ(Champion(), 2);
  EXPECT_EQ((*registry_->GetAlias("fraud", kChallenger))->version, 3);
  EXPECT_EQ(tracker_->GetRunDetails(v3->run_id)->tags.at("promotion.decision"), "keep");

  // A manual promotion, then a decision made against the old champion is stale.
  ASSERT_TRUE(registry_->ForcePromote("fraud", 1).ok());
  EXPECT_EQ(Champion(), 1);
  auto stale = registry_->Promote("fraud", 3, *d3, "k4");
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition) << stale.status().ToString();

  // Rollback walks back: 1 (manual) -> 2 -> 1 (first) -> nothing before it.
  auto r1 = registry_->Rollback("fraud");
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(r1->version, 2);
  auto r2 = registry_->Rollback("fraud");
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->version, 1);
  const std::string at_first = RegistryState();
  auto r3 = registry_->Rollback("fraud");
  EXPECT_EQ(r3.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r3.status().message().find("no previous champion"), std::string::npos);
  EXPECT_EQ(RegistryState(), at_first);

  auto history = registry_->AliasHistory("fraud");
  ASSERT_TRUE(history.ok());
  std::vector<std::string> champion_reasons;
  for (const AliasChange& c : *history)
    if (c.alias == kChampion) champion_reasons.push_back(c.reason);
  EXPECT_EQ(champion_reasons,
            (std::vector<std::string>{"first model", "promoted", "manual", "rollback", "rollback"}));

  // Reopen the database and the artifact folder: the same champion, verified bytes.
  registry_.reset();
  tracker_.reset();
  store_.reset();
  db_.reset();
  auto db = storage::OpenDb(url_, dir_.path());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  db_ = std::move(db).value();
  Open();
  EXPECT_EQ(Champion(), 1);
  auto champion = registry_->LoadAlias("fraud", kChampion);
  ASSERT_TRUE(champion.ok() && *champion) << champion.status().ToString();
  EXPECT_EQ((*champion)->version.version, 1);
  EXPECT_EQ((*champion)->model_bytes, v1->train.model_bytes);
  EXPECT_EQ((*champion)->feature_spec_yaml, kWeakSpec);
  EXPECT_FALSE(*registry_->LoadAlias("other", kChampion));
  EXPECT_EQ(registry_->LoadAlias("fraud", "prod").status().code(), StatusCode::kInvalidArgument);
  auto loaded = registry_->Load("fraud", 2);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->model_bytes, v2->train.model_bytes);
  EXPECT_EQ(loaded->feature_spec_yaml, full_spec_);
  auto models = registry_->ListModels();
  ASSERT_TRUE(models.ok());
  ASSERT_EQ(models->size(), 1u);
  EXPECT_EQ((*models)[0].latest_version, 3);
  EXPECT_EQ((*models)[0].champion, 1);
  EXPECT_EQ((*models)[0].challenger, 3);
}

TEST_P(RegistryTest, BadInputLeavesTheRegistryUnchanged) {
  auto v1 = TrainOn(kLogisticConfig, kWeakSpec, "2026-02-01");
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  ASSERT_TRUE(registry_->ForcePromote("fraud", 1, "first").ok());
  const std::string state = RegistryState();
  auto failed_runs = [&] { return *db_->QueryInt("SELECT COUNT(*) FROM runs WHERE status = 'failed'"); };

  // Too few training rows.
  TrainConfig few = Config(kLogisticConfig);
  few.min_train_rows = 1000000;
  auto r = TrainTrackRegister(tracker_.get(), registry_.get(), few, kWeakSpec, *ParseDay("2026-02-09"), {}, &pool_);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("min_train_rows"), std::string::npos) << r.status().message();
  EXPECT_EQ(failed_runs(), 1);
  EXPECT_EQ(RegistryState(), state);

  // A missing feature column: the matrix lacks features the spec names.
  auto weak = ParseFeatureSpec(kWeakSpec, "weak");
  auto input = LoadFeatureInput(db_.get(), 0, INT64_MAX);
  ASSERT_TRUE(input.ok());
  auto m = ComputeBatch(*weak, *input, &pool_);
  ASSERT_TRUE(m.ok());
  auto customers = CustomerIdsOf(*m, *input);
  r = TrainOnMatrix(tracker_.get(), registry_.get(), Config(kXgbConfig), full_spec_, *m, *customers, 0, {});
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("missing: customer_count_1d"), std::string::npos) << r.status().message();
  EXPECT_EQ(failed_runs(), 2);
  EXPECT_EQ(RegistryState(), state);

  // A day without transactions.
  r = TrainOn(kLogisticConfig, kWeakSpec, "2026-03-20");
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("no transactions on 2026-03-20"), std::string::npos) << r.status().message();

  // An unknown run, model or version.
  const std::string ghost = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ(registry_->RegisterVersion("fraud", ghost, "logistic", v1->version->model_sha256,
                                       v1->version->feature_spec_sha256, 0.5)
                .status()
                .code(),
            StatusCode::kNotFound);
  EXPECT_EQ(registry_->ForcePromote("nope", 1).status().code(), StatusCode::kNotFound);
  auto no_version = registry_->ForcePromote("fraud", 9);
  EXPECT_EQ(no_version.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_version.status().message().find("no version 9"), std::string::npos);
  EXPECT_EQ(registry_->Rollback("nope").status().code(), StatusCode::kNotFound);
  // Rollback with no previous champion.
  EXPECT_EQ(registry_->Rollback("fraud").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(RegistryState(), state);

  // A corrupted model artifact: evaluation and promotion refuse it.
  auto v2 = TrainOn(kLogisticConfig, full_spec_, "2026-02-09");
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  const std::string with_v2 = RegistryState();
  const std::string path = store_->PathOf(v2->version->model_sha256);
  std::string bytes = test::ReadAll(path);
  bytes[bytes.size() / 2] ^= 0x04;
  test::WriteFile(path, bytes);
  auto d = EvaluatePromotion(tracker_.get(), registry_.get(), "fraud", 2, {}, &pool_);
  ASSERT_EQ(d.status().code(), StatusCode::kCorruption) << d.status().ToString();
  EXPECT_NE(d.status().message().find("model artifact"), std::string::npos) << d.status().message();
  EXPECT_NE(d.status().message().find(v2->version->model_sha256), std::string::npos);
  auto forced = registry_->ForcePromote("fraud", 2);
  EXPECT_EQ(forced.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(RegistryState(), with_v2);
  EXPECT_EQ(Champion(), 1);

  // No fraud label at all.
  ASSERT_TRUE(db_->Execute("UPDATE transactions SET is_fraud = 0, label_ts = NULL").ok());
  r = TrainOn(kLogisticConfig, kWeakSpec, "2026-02-09");
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("no fraud label"), std::string::npos) << r.status().message();
  EXPECT_EQ(RegistryState(), with_v2);
}

INSTANTIATE_TEST_SUITE_P(Engines, RegistryTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace lathe::ml
