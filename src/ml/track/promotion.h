// The promotion rule (docs/tracking.md): a challenger replaces the champion
// only if, on the challenger's test window (the champion scored on the same
// rows), its AUPRC is higher by at least a margin AND a paired bootstrap
// confidence interval of the AUPRC difference lies above zero. The first
// model becomes champion. DecidePromotion is the pure rule;
// EvaluatePromotion does the I/O (features, scoring) and records the
// decision on the challenger's run; Registry::Promote applies it.
// Pure functions are thread-safe; the rest share the Tracker's connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/cpu_pool.h"
#include "common/status.h"
#include "ml/features/batch.h"
#include "ml/track/registry.h"
#include "ml/track/tracker.h"

namespace lathe::ml {

struct PromotionPolicy {
  double margin = 0.01;     // AUPRC points the challenger must gain (absolute)
  int n_bootstrap = 1000;   // paired resamples of the test rows
  double confidence = 0.95; // two-sided percentile interval
  uint64_t seed = 1;        // the resampling is deterministic for a seed
};
// InvalidArgument naming the field: margin < 0, n_bootstrap < 10 or
// confidence outside (0, 1).
Status ValidatePolicy(const PromotionPolicy& policy);

// Average precision of scores weighted by integer counts per row (a
// bootstrap resample drawn as counts): identical to AveragePrecision on the
// rows repeated count times. order: row indexes sorted by score descending.
double WeightedAveragePrecision(const std::vector<float>& scores, const std::vector<float>& labels,
                                const std::vector<uint32_t>& counts, const std::vector<size_t>& order);

struct BootstrapInterval {
  double difference = 0;  // AP(challenger) - AP(champion) on all rows
  double low = 0, high = 0;
};
// Paired bootstrap: n resamples of the rows (with replacement, seeded), each
// scoring both models on the same resample; the interval is the percentile
// interval (linear interpolation) of the n differences at confidence.
// All three vectors have the same length.
BootstrapInterval PairedBootstrapAuprc(const std::vector<float>& challenger, const std::vector<float>& champion,
                                       const std::vector<float>& labels, int n, double confidence, uint64_t seed);

// The rule on scores of the test rows. champion nullopt: there is no
// champion and the challenger is promoted. Fills the AUPRCs, the interval,
// the policy, promote and reason (not the names, versions or window).
PromotionDecision DecidePromotion(const PromotionPolicy& policy, const std::vector<float>& challenger,
                                  const std::optional<std::vector<float>>& champion, const std::vector<float>& labels);

// What the training process already has, so evaluation need not load and
// compute the challenger's features again: the matrix the challenger was
// trained and tested on, and the SHA-256 of the spec it was computed with.
struct PrecomputedFeatures {
  const FeatureMatrix* matrix = nullptr;
  std::string spec_sha256;
};

// Evaluates version (the challenger) of name against the current champion
// on the challenger's run's test window: loads the window's transactions
// (with each spec's look-back), computes each model's features with its own
// spec, scores both, applies DecidePromotion, records the decision
// (Registry::RecordDecision) and logs it on the challenger's run: tags
// promotion.decision (promote|keep), promotion.reason, promotion.decision_id,
// metrics promotion.challenger_auprc, promotion.champion_auprc,
// promotion.auprc_difference, promotion.ci_low, promotion.ci_high, and the
// artifact promotion_decision_<id>.json. Moves no alias. NotFound for an
// unknown model or version; Corruption for a damaged artifact of either
// model; FailedPrecondition when the run has no test window.
Result<PromotionDecision> EvaluatePromotion(Tracker* tracker, Registry* registry, const std::string& name,
                                            int64_t version, const PromotionPolicy& policy, CpuPool* pool,
                                            const PrecomputedFeatures& precomputed = {});

// EvaluatePromotion then Registry::Promote with idempotency_key: the CLI's
// one call. Returns the decision; *outcome (if given) receives what moved.
Result<PromotionDecision> EvaluateAndPromote(Tracker* tracker, Registry* registry, const std::string& name,
                                             int64_t version, const PromotionPolicy& policy,
                                             const std::string& idempotency_key, CpuPool* pool,
                                             PromoteOutcome* outcome = nullptr,
                                             const PrecomputedFeatures& precomputed = {});

}  // namespace lathe::ml
