// Training end to end on generated data: both model kinds beat the fraud
// rate, are deterministic for a seed, round-trip through their bytes; bad
// models, matrices, windows and configs each give a clear error.
#include "ml/train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "ml/data/generator.h"
#include "ml/data/transaction.h"
#include "ml/features/feature_spec.h"

namespace lathe::ml {
namespace {

const char* kConfig = R"(
model: xgboost
seed: 7
split: {train_days: 24, validation_days: 6, gap_days: 7, test_days: 7}
threshold: {rule: target_recall, target_recall: 0.7}
min_train_rows: 1000
xgboost: {max_depth: 4, eta: 0.15, n_estimators: 150, early_stopping_rounds: 20}
)";

// 45 generated days (the first 7 are feature warm-up), computed once.
class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto spec = LoadFeatureSpec(std::string(LATHE_SOURCE_DIR) + "/features/fraud.yaml");
    ASSERT_TRUE(spec.ok()) << spec.status().message();
    spec_ = new FeatureSpec(*spec);
    GeneratorOptions o;
    o.customers = 1000;
    o.terminals = 2000;
    o.seed = 5;
    o.start_ts = *ParseDay("2026-01-01");
    o.compromised_terminals_per_day = 5e-4;  // defaults otherwise: about 1% fraud
    const World world = World::Build(o);
    std::vector<Transaction> txs;
    for (int64_t d = 0; d < 45; ++d) {
      auto day = world.GenerateDay(o.start_ts + d * kSecondsPerDay);
      txs.insert(txs.end(), day.begin(), day.end());
    }
    const FeatureInput input = FromTransactions(txs);
    CpuPool pool(2);
    auto m = ComputeBatch(*spec_, input, &pool);
    ASSERT_TRUE(m.ok()) << m.status().message();
    matrix_ = new FeatureMatrix(std::move(*m));
    auto customers = CustomerIdsOf(*matrix_, input);
    ASSERT_TRUE(customers.ok()) << customers.status().message();
    customers_ = new std::vector<int64_t>(*customers);
    auto config = ParseTrainConfig(kConfig, "test");
    ASSERT_TRUE(config.ok()) << config.status().message();
    config_ = new TrainConfig(*config);
    auto xgb = Train(*config_, spec_->Names(), *matrix_, *customers_);
    ASSERT_TRUE(xgb.ok()) << xgb.status().message();
    xgb_ = new TrainResult(std::move(*xgb));
  }

  static DenseView TestRows(std::vector<float>* buffer) {
    for (size_t i : xgb_->split.test) buffer->insert(buffer->end(), matrix_->row(i), matrix_->row(i) + matrix_->cols);
    return {buffer->data(), xgb_->split.test.size(), matrix_->cols};
  }
  static double TestFraudRate() {
    return static_cast<double>(xgb_->test.positives) / static_cast<double>(xgb_->test.rows);
  }

  static inline FeatureSpec* spec_ = nullptr;
  static inline FeatureMatrix* matrix_ = nullptr;
  static inline std::vector<int64_t>* customers_ = nullptr;
  static inline TrainConfig* config_ = nullptr;
  static inline TrainResult* xgb_ = nullptr;
};

void Print(const char* what, const TrainResult& r) {
  std::printf("%s: fit %zu, validation %zu, test %zu rows (%lld frauds); rounds %d; threshold %.4f\n"
              "  test AUPRC %.4f ROC-AUC %.4f precision %.3f recall %.3f F1 %.3f accuracy %.4f card P@100 %.4f\n",
              what, r.split.fit.size(), r.split.validation.size(), r.split.test.size(),
              static_cast<long long>(r.test.positives), r.rounds, r.threshold, r.test.auprc, r.test.roc_auc,
              r.test.precision, r.test.recall, r.test.f1, r.test.accuracy, r.test.card_precision_at_k);
}

TEST_F(TrainerTest, XgboostBeatsTheFraudRate) {
  Print("xgboost", *xgb_);
  const double rate = TestFraudRate();
  ASSERT_GT(xgb_->test.positives, 20);
  EXPECT_GT(xgb_->test.auprc, 10 * rate);  // a constant score's AUPRC is the fraud rate
  EXPECT_GT(xgb_->test.auprc, 0.3);
  EXPECT_GT(xgb_->test.roc_auc, 0.85);
  EXPECT_GT(xgb_->rounds, 1);
  EXPECT_LE(xgb_->rounds, 150);
  // The threshold came from validation, where it reaches the target recall.
  EXPECT_GE(xgb_->validation.recall, 0.7);
  const Confusion& c = xgb_->test.confusion;
  EXPECT_EQ(c.tp + c.fp + c.tn + c.fn, xgb_->test.rows);
  EXPECT_FALSE(xgb_->test_curve.empty());
  EXPECT_DOUBLE_EQ(xgb_->test_curve.back().recall, 1.0);
}

TEST_F(TrainerTest, SplitComesFromTheConfig) {
  const TimeSplitRows& s = xgb_->split;
  EXPECT_EQ(s.test_to - s.test_from, 7 * kSecondsPerDay);
  EXPECT_EQ(s.test_from - s.gap_from, 7 * kSecondsPerDay);
  EXPECT_EQ(xgb_->test.rows, static_cast<int64_t>(s.test.size()));
  for (size_t i : s.fit) ASSERT_LT(matrix_->ts[i], s.validation_from);
  for (size_t i : s.validation) ASSERT_LT(matrix_->ts[i], s.gap_from);
}

TEST_F(TrainerTest, XgboostIsDeterministicForASeed) {
  auto again = Train(*config_, spec_->Names(), *matrix_, *customers_);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->model_bytes, xgb_->model_bytes);
  EXPECT_EQ(again->threshold, xgb_->threshold);
  EXPECT_EQ(again->test.auprc, xgb_->test.auprc);
  std::vector<float> buffer;
  const DenseView x = TestRows(&buffer);
  auto a = PredictWith(ModelKind::kXgboost, xgb_->model_bytes, x);
  auto b = PredictWith(ModelKind::kXgboost, again->model_bytes, x);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  // Another seed subsamples other rows: another model.
  TrainConfig other = *config_;
  other.seed = 8;
  auto different = Train(other, spec_->Names(), *matrix_, *customers_);
  ASSERT_TRUE(different.ok()) << different.status().message();
  EXPECT_NE(different->model_bytes, xgb_->model_bytes);
}

TEST_F(TrainerTest, XgboostSaveLoadRoundTripPredictsIdentically) {
  auto model = XgbModel::Load(xgb_->model_bytes);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->rounds(), xgb_->rounds);
  EXPECT_EQ(model->num_features(), matrix_->cols);
  auto saved = model->Save();
  ASSERT_TRUE(saved.ok());
  auto reloaded = XgbModel::Load(*saved);
  ASSERT_TRUE(reloaded.ok());
  std::vector<float> buffer;
  const DenseView x = TestRows(&buffer);
  auto a = model->Predict(x);
  auto b = reloaded->Predict(x);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  // The metrics Train reports are the loaded model's.
  std::vector<float> labels;
  for (size_t i : xgb_->split.test) labels.push_back(matrix_->labels[i]);
  EXPECT_DOUBLE_EQ(AveragePrecision(*a, labels), xgb_->test.auprc);
  // A row of the wrong width is refused.
  EXPECT_EQ(model->Predict({buffer.data(), 1, matrix_->cols - 1}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TrainerTest, CorruptedModelBuffersGiveAClearError) {
  std::string truncated = xgb_->model_bytes.substr(0, xgb_->model_bytes.size() / 2);
  std::string garbage = "this is not a model";
  std::string flipped = xgb_->model_bytes;
  flipped[0] = 'X';  // no longer a JSON object
  auto cut = XgbModel::Load(truncated);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), StatusCode::kCorruption);
  EXPECT_NE(cut.status().message().find("XGBoosterLoadModelFromBuffer"), std::string::npos) << cut.status().message();
  // Not JSON: refused before XGBoost's legacy binary reader sees it.
  for (const std::string* bytes : {&garbage, &flipped}) {
    auto m = XgbModel::Load(*bytes);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), StatusCode::kCorruption);
    EXPECT_NE(m.status().message().find("is not a JSON model (first byte 0x"), std::string::npos)
        << m.status().message();
  }
  EXPECT_EQ(XgbModel::Load("   \n").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(XgbModel::Load("").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(LogisticModel::Load(truncated).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(LogisticModel::Load(R"({"format": "lathe-logistic", "version": 2})").status().code(),
            StatusCode::kCorruption);
}

TEST_F(TrainerTest, LogisticIsDeterministicAndAboveTheFraudRate) {
  TrainConfig c = *config_;
  c.model = ModelKind::kLogistic;
  auto a = Train(c, spec_->Names(), *matrix_, *customers_);
  ASSERT_TRUE(a.ok()) << a.status().message();
  Print("logistic", *a);
  EXPECT_GT(a->test.auprc, 5 * TestFraudRate());
  EXPECT_GT(a->test.roc_auc, 0.75);
  EXPECT_EQ(a->rounds, 0);
  auto b = Train(c, spec_->Names(), *matrix_, *customers_);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->model_bytes, b->model_bytes);
  auto model = LogisticModel::Load(a->model_bytes);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->Save(), a->model_bytes);
}

TEST_F(TrainerTest, CostRuleChoosesAnotherThreshold) {
  TrainConfig c = *config_;
  c.threshold_rule = ThresholdRule::kCost;
  c.fp_cost = 1;
  c.fn_cost = 1;  // a miss costs no more than a false alarm: a high threshold
  auto cheap = Train(c, spec_->Names(), *matrix_, *customers_);
  c.fn_cost = 200;  // misses are dear: flag more
  auto dear = Train(c, spec_->Names(), *matrix_, *customers_);
  ASSERT_TRUE(cheap.ok() && dear.ok());
  EXPECT_GT(cheap->threshold, dear->threshold);
  EXPECT_GE(dear->validation.recall, cheap->validation.recall);
  EXPECT_EQ(cheap->model_bytes, xgb_->model_bytes);  // the rule picks a threshold, not a model
}

TEST_F(TrainerTest, BadInputsAreClearErrors) {
  const std::vector<std::string> names = spec_->Names();
  // Too few training rows.
  TrainConfig c = *config_;
  c.min_train_rows = 10'000'000;
  auto few = Train(c, names, *matrix_, *customers_);
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("min_train_rows"), std::string::npos) << few.status().message();
  // No fraud label.
  FeatureMatrix clean = *matrix_;
  std::fill(clean.labels.begin(), clean.labels.end(), 0.0f);
  auto no_fraud = Train(*config_, names, clean, *customers_);
  ASSERT_FALSE(no_fraud.ok());
  EXPECT_NE(no_fraud.status().message().find("no fraud label"), std::string::npos) << no_fraud.status().message();
  // A feature column missing: the matrix is narrower than the spec.
  FeatureMatrix narrow;
  narrow.rows = matrix_->rows;
  narrow.cols = matrix_->cols - 1;
  narrow.names.assign(matrix_->names.begin(), matrix_->names.end() - 1);
  for (size_t r = 0; r < matrix_->rows; ++r)
    narrow.values.insert(narrow.values.end(), matrix_->row(r), matrix_->row(r) + narrow.cols);
  narrow.labels = matrix_->labels;
  narrow.ts = matrix_->ts;
  auto missing = Train(*config_, names, narrow, *customers_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing: " + names.back()), std::string::npos)
      << missing.status().message();
  // Customer ids that do not match the rows.
  EXPECT_FALSE(Train(*config_, names, *matrix_, std::vector<int64_t>(3, 1)).ok());
  // A split longer than the data.
  c = *config_;
  c.split.train_days = 60;
  auto long_split = Train(c, names, *matrix_, *customers_);
  ASSERT_FALSE(long_split.ok());
  EXPECT_NE(long_split.status().message().find("spans 45 days"), std::string::npos) << long_split.status().message();
}

// 300 single-byte corruptions spread over the model: each is refused with
// Corruption or (a flip inside a number or a name) loads and predicts — none
// crashes. Integrity against such silent flips is the artifact store's
// checksum's job, not XGBoost's.
TEST_F(TrainerTest, FlippedModelBytesAreRefusedOrHarmlessNeverACrash) {
  std::vector<float> buffer;
  const DenseView x = TestRows(&buffer);
  const std::string& bytes = xgb_->model_bytes;
  int refused = 0;
  for (size_t pos = 0; pos < bytes.size(); pos += bytes.size() / 300 + 1) {
    std::string flipped = bytes;
    flipped[pos] = static_cast<char>(flipped[pos] ^ 0x5a);
    auto m = XgbModel::Load(flipped);
    if (!m.ok()) {
      EXPECT_EQ(m.status().code(), StatusCode::kCorruption);
      ++refused;
      continue;
    }
    auto scores = m->Predict(x);
    if (scores.ok()) {
      EXPECT_EQ(scores->size(), x.rows);
    }
  }
  EXPECT_GT(refused, 250);
}

TEST(TrainConfig, ShippedFileParses) {
  auto c = LoadTrainConfig(std::string(LATHE_SOURCE_DIR) + "/train.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->model, ModelKind::kXgboost);
  EXPECT_EQ(c->xgboost.nthread, 1);
  EXPECT_EQ(LoadTrainConfig("/nonexistent/train.yaml").status().code(), StatusCode::kNotFound);
  auto empty = ParseTrainConfig("", "empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->card_precision_k, 100);
  auto cost = ParseTrainConfig("threshold: {rule: cost, fp_cost: 2, fn_cost: 50}\npositive_weight: 10\n", "t");
  ASSERT_TRUE(cost.ok()) << cost.status().message();
  EXPECT_EQ(cost->threshold_rule, ThresholdRule::kCost);
  EXPECT_EQ(cost->fn_cost, 50);
  EXPECT_EQ(cost->positive_weight, 10);
}

TEST(TrainConfig, BadFilesNameTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"model: forest", "'model' must be xgboost or logistic"},
      {"modle: xgboost", "unknown key 'modle'"},
      {"seed: abc", "'seed' has a bad value 'abc'"},
      {"split: {train_days: 1}", "'split.train_days' must be >= 2"},
      {"split: {train_days: 10, validation_days: 10}", "'split.validation_days'"},
      {"split: {gap_days: -1}", "'split.gap_days' must be >= 0"},
      {"split: {test_days: 0}", "'split.test_days'"},
      {"split: {weeks: 2}", "unknown key 'split.weeks'"},
      {"split: 3", "split must be a mapping"},
      {"threshold: {rule: median}", "'threshold.rule' must be target_recall or cost"},
      {"threshold: {target_recall: 1.5}", "'threshold.target_recall' must be in (0, 1]"},
      {"threshold: {fp_cost: -1}", "'threshold.fp_cost'"},
      {"threshold: {fp_cost: 0, fn_cost: 0}", "must not both be 0"},
      {"positive_weight: -2", "'positive_weight' must be 'auto' or > 0"},
      {"positive_weight: lots", "'positive_weight' has a bad value 'lots'"},
      {"xgboost: {eta: 0}", "'xgboost.eta' must be in (0, 1]"},
      {"xgboost: {max_depth: 0}", "'xgboost.max_depth'"},
      {"xgboost: {subsample: 2}", "'xgboost.subsample'"},
      {"xgboost: {nthread: 0}", "'xgboost.nthread'"},
      {"xgboost: {n_estimators: [1, 2]}", "'xgboost.n_estimators' must be a scalar"},
      {"xgboost: {learning_rate: 0.1}", "unknown key 'xgboost.learning_rate'"},
      {"logistic: {l2: -1}", "'logistic.l2' must be >= 0"},
      {"min_train_rows: 0", "'min_train_rows' must be >= 1"},
      {"card_precision_k: 0", "'card_precision_k'"},
      {"model: [unclosed", "not valid YAML"},
  };
  for (const auto& [yaml, expected] : cases) {
    auto c = ParseTrainConfig(yaml, "bad.yaml");
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << yaml;
    EXPECT_NE(c.status().message().find(expected), std::string::npos) << yaml << " -> " << c.status().message();
    EXPECT_EQ(c.status().message().rfind("bad.yaml: ", 0), 0u) << c.status().message();
  }
}

}  // namespace
}  // namespace lathe::ml
