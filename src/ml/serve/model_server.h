// ModelServer: serves one named fraud model with hot swap. The current
// version is an immutable LoadedModel behind a mutex-guarded shared_ptr: each
// Predict takes one snapshot, so every row of a request is scored by one
// version. A new version is loaded and checked beside the old one and then
// swapped in; one that fails leaves the old one serving (last_error). The
// online feature state (per customer and terminal) is rebuilt from the store
// when the first version loads and is shared by all later versions.
// Thread-safe: Predict from any number of threads; Reload is serialised.
// Semantics and the rules for late and duplicate transactions: docs/serving.md.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "ml/features/online.h"
#include "ml/serve/loaded_model.h"
#include "ml/serve/model_bundle.h"
#include "storage/db.h"

namespace lathe::ml {

// Opens the transactions store for the state rebuild (called once, from the
// thread that loads the first version).
using StoreOpener = std::function<Result<std::unique_ptr<storage::Db>>()>;

struct ModelServerOptions {
  std::string name = "fraud";
  int64_t poll_seconds = 30;  // probe the champion this often; 0 = never (notify only)
  size_t top_features = 5;    // contributions returned per prediction
  // A transaction more than this far ahead of now is refused: it would move
  // its customer's state into the future and make every real one late.
  int64_t max_future_seconds = 86400;
  std::function<int64_t()> now;  // unix seconds; default: the wall clock
  // Called after every swap attempt that got as far as loading a bundle:
  // outcome "ok" or "error", the version tried. For metrics; may be empty.
  std::function<void(const char* outcome, int64_t version)> on_swap;
};

struct FeatureContribution {
  std::string name;
  float value = 0;         // the feature's value (NaN = missing)
  float contribution = 0;  // to the log-odds
};

struct Prediction {
  int64_t transaction_id = 0;
  // Not OK: this transaction was refused (AlreadyExists: a duplicate id;
  // FailedPrecondition: older than its customer's or terminal's last one;
  // InvalidArgument: more than max_future_seconds ahead of now) —
  // not scored and not added to the state; the fields below are unset.
  Status status;
  float probability = 0;
  bool fraud = false;  // probability >= the version's threshold
  std::vector<float> features;  // spec order
  float bias = 0;               // the contributions' bias term
  float margin = 0;             // bias + every contribution = log-odds
  std::vector<FeatureContribution> top;  // largest |contribution| first
};

struct PredictOutcome {
  std::shared_ptr<const LoadedModel> model;  // the one version that scored every row
  std::vector<Prediction> predictions;       // in input order
};

struct SwapError {
  std::string message;
  int64_t version = 0;  // the version that failed (0: the source itself failed)
  int64_t at = 0;       // unix seconds
};

struct ModelServerStatus {
  std::shared_ptr<const LoadedModel> current;  // null: nothing loaded yet
  std::optional<SwapError> last_error;         // cleared by the next successful swap
  int64_t swaps = 0;                           // successful loads, the first included
  size_t customers = 0, terminals = 0;         // in the online state
};

class ModelServer {
 public:
  ModelServer(ModelServerOptions options, ModelLoader loader, ModelVersionProbe probe, StoreOpener open_store);
  ~ModelServer();  // stops polling
  ModelServer(const ModelServer&) = delete;
  ModelServer& operator=(const ModelServer&) = delete;

  const std::string& name() const { return options_.name; }

  // Loads the champion if there is one (a missing or bad one is reported in
  // status(), never fatal) and starts the poller when poll_seconds > 0.
  void Start();
  // Stops the poller; idempotent.
  void Stop();

  // Asks the loader for the champion now and swaps it in when its version
  // differs from the one serving. A version that failed before is retried
  // only when force is set (the poller does not retry it). Returns the
  // version serving afterwards (nullopt: none, there is no champion), or the
  // error of this attempt (the old version keeps serving).
  Result<std::optional<int64_t>> Reload(bool force = true);

  // Computes each transaction's online features (adding it to the state),
  // then scores all of them with one snapshot of the current version.
  // Unavailable when no version is loaded yet. Per-transaction refusals are
  // in Prediction::status. explain false skips the contributions (bias,
  // margin and top stay unset): XGBoost's SHAP values cost far more than
  // the score itself (docs/benchmarks.md).
  Result<PredictOutcome> Predict(const std::vector<OnlineTransaction>& txs, bool explain = true);

  // Delivers the fraud labels that became known since the last call (or the
  // rebuild): rows of the store with is_fraud = 1 and label_ts in
  // (last, now], to the terminals' state. The poller calls it on every poll.
  // Returns how many labels reached a transaction the state holds. OK and 0
  // before the first version loads.
  Result<size_t> RefreshLabels();

  ModelServerStatus status() const;
  // The version serving now (null: none); the caller's copy stays valid
  // across swaps.
  std::shared_ptr<const LoadedModel> current() const {
    std::lock_guard<std::mutex> lock(current_mu_);
    return current_;
  }

 private:
  Status BuildState(const FeatureSpec& spec);
  void RecordError(const Status& st, int64_t version);
  void PollLoop();
  int64_t Now() const;

  // Constant after construction.
  const ModelServerOptions options_;
  const ModelLoader loader_;
  const ModelVersionProbe probe_;
  const StoreOpener open_store_;

  // A mutex around a shared_ptr copy rather than std::atomic<shared_ptr>:
  // the lock is held for a pointer copy only, and libstdc++ 12's lock-bit
  // implementation of the atomic is opaque to ThreadSanitizer.
  mutable std::mutex current_mu_;
  std::shared_ptr<const LoadedModel> current_;  // guarded by current_mu_

  std::mutex swap_mu_;            // one Reload at a time
  int64_t failed_version_ = -1;   // guarded by swap_mu_: not retried by the poller

  mutable std::mutex status_mu_;
  std::optional<SwapError> last_error_;  // guarded by status_mu_
  int64_t swaps_ = 0;                    // guarded by status_mu_

  mutable std::mutex state_mu_;
  std::unique_ptr<OnlineFeatures> state_;           // guarded by state_mu_; set with the first version
  FeatureSpec state_spec_;                          // guarded by state_mu_
  std::unordered_map<int64_t, int64_t> seen_;       // guarded by state_mu_: transaction id -> ts
  std::deque<std::pair<int64_t, int64_t>> seen_order_;  // guarded by state_mu_: (ts, id) as added
  int64_t lookback_ = 0;                            // guarded by state_mu_
  int64_t labels_until_ = 0;                        // guarded by state_mu_: labels up to here delivered

  std::mutex poll_mu_;
  std::condition_variable poll_cv_;
  bool stop_ = false;  // guarded by poll_mu_
  std::thread poller_;
};

}  // namespace lathe::ml
