// LoadedModel: one model version parsed and checked, ready to score —
// immutable after LoadModel, so a request that holds a shared_ptr to it is
// scored entirely by that version. Score is thread-safe (XGBoost calls are
// serialised by a mutex inside; the logistic model needs none).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "ml/features/feature_spec.h"
#include "ml/serve/model_bundle.h"
#include "ml/train/logistic.h"
#include "ml/train/xgb_model.h"

namespace lathe::ml {

// Scores of rows: probability and the per-feature contributions to the
// log-odds (SHAP values for XGBoost, coefficient x standardised value for
// the logistic model). contributions is rows x (cols + 1), the last column
// the bias; each row sums to the row's margin (logit of probability).
struct RowScores {
  std::vector<float> probability;
  std::vector<float> contributions;
};

class LoadedModel {
 public:
  const std::string& name() const { return name_; }
  int64_t version() const { return version_; }
  const std::string& kind() const { return kind_; }
  double threshold() const { return threshold_; }
  const FeatureSpec& spec() const { return spec_; }
  const std::string& spec_yaml() const { return spec_yaml_; }
  int64_t loaded_at() const { return loaded_at_; }  // unix seconds

  // Scores x (x.cols must be the spec's feature count). with_contributions
  // false leaves RowScores::contributions empty.
  Result<RowScores> Score(DenseView x, bool with_contributions) const;

 private:
  friend Result<std::shared_ptr<const LoadedModel>> LoadModel(const ModelBundle& bundle, int64_t now);
  std::string name_, kind_, spec_yaml_;
  int64_t version_ = 0;
  double threshold_ = 0;
  int64_t loaded_at_ = 0;
  FeatureSpec spec_;
  std::optional<XgbModel> xgb_;       // kind "xgboost"
  std::optional<LogisticModel> logistic_;  // kind "logistic"
  mutable std::mutex xgb_mu_;         // XGBoost prediction is not promised thread-safe
};

// Parses the bundle's spec and model, checks that the model takes exactly the
// spec's feature count, that the threshold is in [0, 1], and scores a probe
// row (all features missing) to a finite probability. InvalidArgument (bad
// kind, spec, threshold, width) or Corruption (model bytes), each naming
// the model, version and reason. now (unix seconds) becomes loaded_at.
Result<std::shared_ptr<const LoadedModel>> LoadModel(const ModelBundle& bundle, int64_t now);

// True when the two specs compute the same features in the same order
// (names, kinds, windows, delays, hours and missing values).
bool SameFeatures(const FeatureSpec& a, const FeatureSpec& b);

}  // namespace lathe::ml
