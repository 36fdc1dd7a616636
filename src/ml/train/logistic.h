// LogisticModel: the baseline challenger — L2-regularised logistic
// regression on standardised features (NaN imputed by the training mean, so
// 0 after standardising), fitted by Newton's method (IRLS) with Eigen.
// Deterministic: no randomness at all. Immutable after Train/Load; Predict is
// thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "ml/train/xgb_model.h"  // DenseView

namespace lathe::ml {

struct LogisticParams {
  double l2 = 1.0;          // penalty lambda * |w|^2 / 2 on the weights (not the intercept), in weighted-row units
  int max_iterations = 50;  // Newton steps
  double tolerance = 1e-8;  // stop when the largest step is below this
};

class LogisticModel {
 public:
  // labels 0/1 and weights (empty = all 1) one per row. InvalidArgument on
  // shape mismatches or a bad param.
  static Result<LogisticModel> Train(const LogisticParams& params, DenseView x, const std::vector<float>& labels,
                                     const std::vector<float>& weights);
  // Parses bytes written by Save; Corruption when they are not a model.
  static Result<LogisticModel> Load(const std::string& bytes);

  // Fraud probabilities, one per row; InvalidArgument on a width mismatch.
  Result<std::vector<float>> Predict(DenseView x) const;
  // Per-feature contributions to the log-odds: coefficient x standardised
  // value (0 for a missing value, which is imputed by the mean), rows x
  // (cols + 1) row-major with the intercept in column cols; each row sums to
  // the logit of Predict. InvalidArgument on a width mismatch.
  Result<std::vector<float>> Contributions(DenseView x) const;
  // JSON: {"format": "lathe-logistic", "version": 1, mean, scale, coef, intercept}.
  std::string Save() const;

  const std::vector<double>& coefficients() const { return coef_; }  // per standardised feature

 private:
  std::vector<double> mean_, scale_, coef_;
  double intercept_ = 0;
};

}  // namespace lathe::ml
