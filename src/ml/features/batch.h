// Batch feature computation: a FeatureSpec applied to every row of a
// FeatureInput at once, partitioned by customer and then by terminal across
// the CPU pool. The result is the same whatever the number of threads.
// ComputeBatch is thread-safe (it shares nothing between calls).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/cpu_pool.h"
#include "common/status.h"
#include "ml/features/feature_input.h"
#include "ml/features/feature_spec.h"

namespace lathe::ml {

// A dense feature matrix for training: rows x cols floats, row-major, NaN
// where a feature is missing (XGBoost's XGDMatrixCreateFromMat with
// missing = NaN reads `values` as is). Rows are the input's transactions in
// (ts, transaction_id) order.
struct FeatureMatrix {
  std::vector<std::string> names;  // cols, the spec's feature names
  size_t rows = 0;
  size_t cols = 0;
  std::vector<float> values;            // rows * cols
  std::vector<float> labels;            // rows: is_fraud as eventually known (the training target)
  std::vector<int64_t> ts;              // rows
  std::vector<int64_t> transaction_id;  // rows
  std::vector<int64_t> label_ts;        // rows; 0 = never charged back

  float at(size_t row, size_t col) const { return values[row * cols + col]; }
  const float* row(size_t r) const { return values.data() + r * cols; }
};

// Computes every feature of spec for every row of input. pool == nullptr runs
// on the calling thread. InvalidArgument when two rows share (ts, id).
Result<FeatureMatrix> ComputeBatch(const FeatureSpec& spec, const FeatureInput& input, CpuPool* pool);

}  // namespace lathe::ml
