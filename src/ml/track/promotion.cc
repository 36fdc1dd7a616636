#include "ml/track/promotion.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "ml/features/feature_input.h"
#include "ml/features/feature_spec.h"
#include "ml/train/metrics.h"
#include "ml/train/trainer.h"

namespace lathe::ml {
namespace {

std::vector<size_t> OrderByScoreDesc(const std::vector<float>& scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return order;
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// The test rows of m: ts in [from, to), in the matrix's (ts, id) order.
struct TestRows {
  std::vector<float> values, labels;
  std::vector<int64_t> transaction_id;
  size_t rows = 0, cols = 0;
};
TestRows SelectTestRows(const FeatureMatrix& m, int64_t from, int64_t to) {
  TestRows t;
  t.cols = m.cols;
  for (size_t r = 0; r < m.rows; ++r) {
    if (m.ts[r] < from || m.ts[r] >= to) continue;
    t.values.insert(t.values.end(), m.row(r), m.row(r) + m.cols);
    t.labels.push_back(m.labels[r]);
    t.transaction_id.push_back(m.transaction_id[r]);
    ++t.rows;
  }
  return t;
}

Result<ModelKind> KindOf(const ModelVersion& v) {
  if (v.kind == "xgboost") return ModelKind::kXgboost;
  if (v.kind == "logistic") return ModelKind::kLogistic;
  return Corruption(fmt::format("model '{}' version {} has an unknown kind '{}'", v.name, v.version, v.kind));
}

std::string Fixed(double v) { return fmt::format("{:.4f}", v); }

}  // namespace

Status ValidatePolicy(const PromotionPolicy& p) {
  if (!(p.margin >= 0)) return InvalidArgument(fmt::format("promotion margin must be >= 0, got {}", p.margin));
  if (p.n_bootstrap < 10)
    return InvalidArgument(fmt::format("promotion n_bootstrap must be >= 10, got {}", p.n_bootstrap));
  if (!(p.confidence > 0 && p.confidence < 1))
    return InvalidArgument(fmt::format("promotion confidence must be in (0, 1), got {}", p.confidence));
  return Status::OK();
}

double WeightedAveragePrecision(const std::vector<float>& scores, const std::vector<float>& labels,
                                const std::vector<uint32_t>& counts, const std::vector<size_t>& order) {
  double positives = 0;
  for (size_t i = 0; i < scores.size(); ++i) positives += labels[i] > 0.5f ? counts[i] : 0;
  if (positives == 0) return 0;
  double tp = 0, fp = 0, ap = 0;
  for (size_t k = 0; k < order.size();) {
    // One step per distinct score: tied rows enter together.
    const float s = scores[order[k]];
    double step_tp = 0, step_fp = 0;
    for (; k < order.size() && scores[order[k]] == s; ++k) {
      const size_t i = order[k];
      (labels[i] > 0.5f ? step_tp : step_fp) += counts[i];
    }
    tp += step_tp;
    fp += step_fp;
    if (step_tp > 0) ap += (step_tp / positives) * (tp / (tp + fp));
  }
  return ap;
}

BootstrapInterval PairedBootstrapAuprc(const std::vector<float>& challenger, const std::vector<float>& champion,
                                       const std::vector<float>& labels, int n, double confidence, uint64_t seed) {
  BootstrapInterval out;
  out.difference = AveragePrecision(challenger, labels) - AveragePrecision(champion, labels);
  const size_t rows = labels.size();
  if (rows == 0 || n <= 0) return out;
  const std::vector<size_t> order_a = OrderByScoreDesc(challenger), order_b = OrderByScoreDesc(champion);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, rows - 1);
  std::vector<uint32_t> counts(rows);
  std::vector<double> diffs;
  diffs.reserve(static_cast<size_t>(n));
  for (int b = 0; b < n; ++b) {
    std::fill(counts.begin(), counts.end(), 0u);
    for (size_t i = 0; i < rows; ++i) ++counts[pick(rng)];
    diffs.push_back(WeightedAveragePrecision(challenger, labels, counts, order_a) -
                    WeightedAveragePrecision(champion, labels, counts, order_b));
  }
  const double tail = (1 - confidence) / 2;
  out.low = Quantile(diffs, tail);
  out.high = Quantile(diffs, 1 - tail);
  return out;
}

PromotionDecision DecidePromotion(const PromotionPolicy& policy, const std::vector<float>& challenger,
                                  const std::optional<std::vector<float>>& champion, const std::vector<float>& labels) {
  PromotionDecision d;
  d.margin = policy.margin;
  d.confidence = policy.confidence;
  d.n_bootstrap = policy.n_bootstrap;
  d.seed = policy.seed;
  d.test_rows = static_cast<int64_t>(labels.size());
  for (float l : labels) d.test_positives += l > 0.5f;
  d.challenger_auprc = AveragePrecision(challenger, labels);
  if (!champion) {
    d.promote = true;
    d.reason = fmt::format("first model: there is no champion (challenger AUPRC {})", Fixed(d.challenger_auprc));
    return d;
  }
  d.champion_auprc = AveragePrecision(*champion, labels);
  const BootstrapInterval ci =
      PairedBootstrapAuprc(challenger, *champion, labels, policy.n_bootstrap, policy.confidence, policy.seed);
  d.difference = ci.difference;
  d.ci_low = ci.low;
  d.ci_high = ci.high;
  const std::string numbers =
      fmt::format("challenger AUPRC {} vs champion {}: difference {:+.4f}, {:.0f}% CI [{:+.4f}, {:+.4f}] over {} "
                  "resamples, margin {}",
                  Fixed(d.challenger_auprc), Fixed(d.champion_auprc), d.difference, policy.confidence * 100, ci.low,
                  ci.high, policy.n_bootstrap, Fixed(policy.margin));
  if (d.difference < policy.margin) {
    d.promote = false;
    d.reason = "kept the champion: the gain is below the margin; " + numbers;
  } else if (ci.low <= 0) {
    d.promote = false;
    d.reason = "kept the champion: the confidence interval includes zero; " + numbers;
  } else {
    d.promote = true;
    d.reason = "promoted: the gain exceeds the margin and the confidence interval excludes zero; " + numbers;
  }
  return d;
}

Result<PromotionDecision> EvaluatePromotion(Tracker* tracker, Registry* registry, const std::string& name,
                                            int64_t version, const PromotionPolicy& policy, CpuPool* pool,
                                            const PrecomputedFeatures& precomputed) {
  LATHE_RETURN_IF_ERROR(ValidatePolicy(policy));
  LATHE_ASSIGN_OR_RETURN(ModelArtifacts challenger, registry->Load(name, version));
  LATHE_ASSIGN_OR_RETURN(RunInfo run, tracker->GetRun(challenger.version.run_id));
  if (run.test_from == 0 || run.data_to <= run.test_from)
    return FailedPrecondition(
        fmt::format("run {} of '{}' version {} has no test window", run.run_id, name, version));
  LATHE_ASSIGN_OR_RETURN(std::optional<ModelVersion> champion_version, registry->GetAlias(name, kChampion));
  std::optional<ModelArtifacts> champion;
  if (champion_version && champion_version->version != version) {
    LATHE_ASSIGN_OR_RETURN(champion, registry->Load(name, champion_version->version));
  }

  // Each model is scored on features computed with its own spec, over the same transactions.
  std::vector<const ModelArtifacts*> models = {&challenger};
  if (champion) models.push_back(&*champion);
  std::map<std::string, FeatureSpec> specs;  // by spec sha256
  int64_t lookback = 0;
  for (const ModelArtifacts* m : models) {
    auto spec = ParseFeatureSpec(m->feature_spec_yaml,
                                 fmt::format("feature spec of '{}' version {}", name, m->version.version));
    if (!spec.ok()) return spec.status();
    lookback = std::max(lookback, spec->LookbackSeconds());
    specs.emplace(m->version.feature_spec_sha256, *spec);
  }
  std::map<std::string, TestRows> rows_by_spec;
  if (precomputed.matrix && specs.count(precomputed.spec_sha256))
    rows_by_spec[precomputed.spec_sha256] = SelectTestRows(*precomputed.matrix, run.test_from, run.data_to);
  std::optional<FeatureInput> input;
  for (const auto& [sha, spec] : specs) {
    if (rows_by_spec.count(sha)) continue;
    if (!input) {
      LATHE_ASSIGN_OR_RETURN(input, LoadFeatureInput(tracker->db(), run.test_from - lookback, run.data_to));
    }
    LATHE_ASSIGN_OR_RETURN(FeatureMatrix m, ComputeBatch(spec, *input, pool));
    rows_by_spec[sha] = SelectTestRows(m, run.test_from, run.data_to);
  }
  const TestRows& base = rows_by_spec.at(challenger.version.feature_spec_sha256);
  auto score = [&](const ModelArtifacts& m) -> Result<std::vector<float>> {
    const TestRows& t = rows_by_spec.at(m.version.feature_spec_sha256);
    if (t.transaction_id != base.transaction_id)
      return Internal(fmt::format("the test rows of '{}' version {} differ from the challenger's", name,
                                  m.version.version));
    LATHE_ASSIGN_OR_RETURN(ModelKind kind, KindOf(m.version));
    auto scores = PredictWith(kind, m.model_bytes, DenseView{t.values.data(), t.rows, t.cols});
    if (!scores.ok())
      return Status(scores.status().code(), fmt::format("scoring '{}' version {}: {}", name, m.version.version,
                                                        scores.status().message()));
    return scores;
  };
  LATHE_ASSIGN_OR_RETURN(std::vector<float> challenger_scores, score(challenger));
  std::optional<std::vector<float>> champion_scores;
  if (champion) {
    LATHE_ASSIGN_OR_RETURN(champion_scores, score(*champion));
  }

  PromotionDecision d = DecidePromotion(policy, challenger_scores, champion_scores, base.labels);
  if (champion_version && champion_version->version == version) {
    d.promote = false;
    d.reason = fmt::format("version {} is already the champion", version);
  }
  d.name = name;
  d.challenger_version = version;
  if (champion_version) d.champion_version = champion_version->version;
  d.run_id = run.run_id;
  d.test_from = run.test_from;
  d.test_to = run.data_to;
  LATHE_ASSIGN_OR_RETURN(d.decision_id, registry->RecordDecision(d));
  LATHE_ASSIGN_OR_RETURN(d, registry->GetDecision(d.decision_id));

  const std::string& id = run.run_id;
  LATHE_RETURN_IF_ERROR(tracker->SetTag(id, "promotion.decision", d.promote ? "promote" : "keep"));
  LATHE_RETURN_IF_ERROR(tracker->SetTag(id, "promotion.reason", d.reason));
  LATHE_RETURN_IF_ERROR(tracker->SetTag(id, "promotion.decision_id", std::to_string(d.decision_id)));
  LATHE_RETURN_IF_ERROR(tracker->SetTag(
      id, "promotion.champion_version", d.champion_version ? std::to_string(*d.champion_version) : "none"));
  LATHE_RETURN_IF_ERROR(tracker->LogMetric(id, "promotion.challenger_auprc", d.challenger_auprc, d.decision_id));
  if (d.champion_version) {
    LATHE_RETURN_IF_ERROR(tracker->LogMetric(id, "promotion.champion_auprc", d.champion_auprc, d.decision_id));
    LATHE_RETURN_IF_ERROR(tracker->LogMetric(id, "promotion.auprc_difference", d.difference, d.decision_id));
    LATHE_RETURN_IF_ERROR(tracker->LogMetric(id, "promotion.ci_low", d.ci_low, d.decision_id));
    LATHE_RETURN_IF_ERROR(tracker->LogMetric(id, "promotion.ci_high", d.ci_high, d.decision_id));
  }
  std::string json_text;
  LATHE_RETURN_IF_ERROR(tracker->db()->Query(
      "SELECT decision_json FROM promotion_decisions WHERE decision_id = $1", {d.decision_id},
      [&](const storage::DbRow& r) {
        json_text = std::string(r.Text(0));
        return Status::OK();
      }));
  LATHE_RETURN_IF_ERROR(
      tracker->LogArtifact(id, fmt::format("promotion_decision_{}.json", d.decision_id), json_text, "application/json")
          .status());
  return d;
}

Result<PromotionDecision> EvaluateAndPromote(Tracker* tracker, Registry* registry, const std::string& name,
                                             int64_t version, const PromotionPolicy& policy,
                                             const std::string& idempotency_key, CpuPool* pool,
                                             PromoteOutcome* outcome, const PrecomputedFeatures& precomputed) {
  LATHE_ASSIGN_OR_RETURN(PromotionDecision d,
                         EvaluatePromotion(tracker, registry, name, version, policy, pool, precomputed));
  LATHE_ASSIGN_OR_RETURN(PromoteOutcome o, registry->Promote(name, version, d, idempotency_key));
  if (outcome) *outcome = o;
  return d;
}

}  // namespace lathe::ml
