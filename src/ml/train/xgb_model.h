// XgbModel: an RAII wrapper over XGBoost's C API (libxgboost 1.7, tree_method
// hist, binary:logistic). Dense row-major float input with NaN as missing,
// per-row weights, early stopping on validation AUPRC, prediction, and the
// model as JSON bytes. Every C API failure becomes a Status naming the call
// and XGBGetLastError(). A model is movable, not copyable; Predict on one
// model from several threads is not promised safe — use one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace lathe::ml {

// A dense matrix view: rows x cols floats, row-major, NaN = missing.
struct DenseView {
  const float* values = nullptr;  // rows * cols
  size_t rows = 0;
  size_t cols = 0;
};

struct XgbParams {
  int max_depth = 4;
  double eta = 0.1;
  int n_estimators = 300;  // upper bound on boosting rounds
  double subsample = 0.8;
  double colsample_bytree = 0.8;
  double min_child_weight = 1;
  uint64_t seed = 1;
  int nthread = 1;  // 1 for single-row scoring (docs: DESIGN.md pitfalls)
  int early_stopping_rounds = 30;  // stop when validation AUPRC has not improved for this many rounds
};

class XgbModel {
 public:
  XgbModel(XgbModel&& other) noexcept;
  XgbModel& operator=(XgbModel&& other) noexcept;
  XgbModel(const XgbModel&) = delete;
  XgbModel& operator=(const XgbModel&) = delete;
  ~XgbModel();

  // Boosts up to params.n_estimators rounds on train (labels 0/1, weights
  // one per row or empty), evaluating average precision on validation after
  // each round; keeps the trees up to the best round. InvalidArgument on
  // shape mismatches; Internal with the C API's message on its failures.
  static Result<XgbModel> Train(const XgbParams& params, DenseView train, const std::vector<float>& labels,
                                const std::vector<float>& weights, DenseView validation,
                                const std::vector<float>& validation_labels);
  // Parses bytes written by Save. Corruption (with XGBoost's message) when
  // they are not a model.
  static Result<XgbModel> Load(const std::string& bytes);

  // Fraud probabilities, one per row. InvalidArgument when x.cols differs
  // from the trained width.
  Result<std::vector<float>> Predict(DenseView x) const;
  // Raw margins (log-odds, before the sigmoid), one per row.
  Result<std::vector<float>> Margin(DenseView x) const;
  // SHAP contributions (XGBoost's prediction type "contributions"): rows x
  // (cols + 1) floats, row-major; column cols is the bias. Each row sums to
  // that row's Margin. InvalidArgument on a width mismatch.
  Result<std::vector<float>> Contributions(DenseView x) const;
  // Sets XGBoost's nthread for prediction (1 for single-row scoring).
  Status SetThreads(int nthread);
  // The model as XGBoost JSON.
  Result<std::string> Save() const;

  int rounds() const { return rounds_; }        // trees kept (best round + 1)
  size_t num_features() const { return cols_; }

 private:
  explicit XgbModel(void* booster) : booster_(booster) {}
  void* booster_ = nullptr;  // BoosterHandle
  int rounds_ = 0;
  size_t cols_ = 0;
};

}  // namespace lathe::ml
