// Training and evaluation of the fraud model: TrainConfig (train.yaml, keys
// in docs/training.md) and Train, which splits a FeatureMatrix by day, weights
// the classes, fits XGBoost or logistic regression with early stopping on the
// validation window, picks the threshold there and measures the test window.
// Pure functions of their inputs (deterministic for a seed); thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "ml/features/batch.h"
#include "ml/features/feature_input.h"
#include "ml/train/logistic.h"
#include "ml/train/metrics.h"
#include "ml/train/split.h"
#include "ml/train/xgb_model.h"

namespace lathe::ml {

enum class ModelKind { kXgboost, kLogistic };
enum class ThresholdRule { kTargetRecall, kCost };

struct TrainConfig {
  ModelKind model = ModelKind::kXgboost;
  uint64_t seed = 1;
  SplitConfig split;
  // Weight of a fraud row; 0 = "auto": negatives / positives of the fit rows.
  double positive_weight = 0;
  ThresholdRule threshold_rule = ThresholdRule::kTargetRecall;
  double target_recall = 0.8;
  double fp_cost = 1, fn_cost = 20;
  int64_t min_train_rows = 1000;  // fewer fit rows is an error
  int card_precision_k = 100;
  XgbParams xgboost;  // xgboost.seed is set from seed
  LogisticParams logistic;
};

// Parses YAML text; source names it in errors. InvalidArgument names the
// key (as section.key) and what is wrong with its value; unknown keys are
// errors too.
Result<TrainConfig> ParseTrainConfig(const std::string& yaml, const std::string& source);
// Reads and parses a file; NotFound when it cannot be read.
Result<TrainConfig> LoadTrainConfig(const std::string& path);

struct TrainResult {
  ModelKind model = ModelKind::kXgboost;
  std::string model_bytes;  // XgbModel::Save or LogisticModel::Save
  int rounds = 0;           // XGBoost trees kept after early stopping; 0 for logistic
  double threshold = 0;     // chosen on the validation window
  double positive_weight = 0;
  TimeSplitRows split;      // row indexes into the matrix, and day boundaries
  Metrics validation, test;
  std::vector<CurvePoint> test_curve;  // PR and ROC points on the test window
};

// Customer id per row of m, looked up by transaction id in input (the rows
// m was computed from). InvalidArgument when a row's transaction is absent.
Result<std::vector<int64_t>> CustomerIdsOf(const FeatureMatrix& m, const FeatureInput& input);

// Trains and evaluates. feature_names is what the model expects (the spec's
// Names()): a matrix with other columns is refused. customer_ids has one per
// row (card precision). InvalidArgument on a shape mismatch, a split that
// does not fit the data, fewer than min_train_rows fit rows, or a fit or
// validation window without a fraud.
Result<TrainResult> Train(const TrainConfig& config, const std::vector<std::string>& feature_names,
                          const FeatureMatrix& m, const std::vector<int64_t>& customer_ids);

// Scores rows with a model from TrainResult::model_bytes.
Result<std::vector<float>> PredictWith(ModelKind kind, const std::string& model_bytes, DenseView x);

}  // namespace lathe::ml
