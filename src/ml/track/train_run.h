// A tracked training run: trains the fraud model (ml/train) on the window
// of days ending with day D, logs everything an auditor asks about to the
// Tracker (params, metrics, model, feature spec, threshold, curves, the
// validation result of D) and registers the model as a new version (the
// challenger). Promotion is a separate step (promotion.h). Shares the
// Tracker's connection: not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/cpu_pool.h"
#include "common/status.h"
#include "ml/features/batch.h"
#include "ml/train/trainer.h"
#include "ml/track/registry.h"
#include "ml/track/tracker.h"

namespace lathe::ml {

struct TrainRunOptions {
  std::string experiment = "fraud";
  std::string model_name = "fraud";
  // Whose verdict on D is recorded ("" = the latest validation of D by any suite).
  std::string validation_suite;
  // FailedPrecondition (before training) unless D's latest validation passed.
  bool require_validation = false;
  bool register_model = true;
  // Verify the current champion's artifacts before training (Corruption
  // then, with nothing registered), for a caller about to evaluate against it.
  bool check_champion = false;
};

struct TrainRunResult {
  std::string run_id;
  TrainResult train;
  std::optional<ModelVersion> version;  // the registered version (register_model)
  std::string validation = "none";      // D's latest validation: "passed", "failed" or "none"
  int64_t data_from = 0, test_from = 0, data_to = 0;  // [data_from, data_to), seconds
  std::string feature_spec_sha256;
  // The matrix trained on (TrainTrackRegister only), for EvaluatePromotion's
  // PrecomputedFeatures.
  std::shared_ptr<const FeatureMatrix> matrix;
};

// Every TrainConfig field as a param (split.train_days, xgboost.eta, ...).
std::map<std::string, std::string> TrainConfigParams(const TrainConfig& config);

// Loads the transactions of the split's window ending with day_ts (00:00 UTC
// of D; the window is train_days + gap_days + test_days days ending with D,
// plus the spec's look-back for feature warm-up), computes the features and
// runs TrainOnMatrix. InvalidArgument when the spec does not parse or D has
// no transactions; the errors of TrainOnMatrix otherwise.
Result<TrainRunResult> TrainTrackRegister(Tracker* tracker, Registry* registry, const TrainConfig& config,
                                          const std::string& feature_spec_yaml, int64_t day_ts,
                                          const TrainRunOptions& options, CpuPool* pool);

// The same from an already computed matrix (customer_ids one per row).
// day_ts names the day whose validation verdict is recorded (0: none). A run
// is started first; any error ends it as failed with the message (which
// then names the run) and registers nothing.
Result<TrainRunResult> TrainOnMatrix(Tracker* tracker, Registry* registry, const TrainConfig& config,
                                     const std::string& feature_spec_yaml, const FeatureMatrix& matrix,
                                     const std::vector<int64_t>& customer_ids, int64_t day_ts,
                                     const TrainRunOptions& options);

}  // namespace lathe::ml
