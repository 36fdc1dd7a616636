#include "ml/train/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <unordered_map>

#include <fmt/format.h>

#include "ml/train/split.h"

namespace lathe::ml {
namespace {

// Row indexes by descending score (stable, so equal scores keep row order).
std::vector<size_t> ByScoreDescending(const std::vector<float>& scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return order;
}

int64_t Positives(const std::vector<float>& labels) {
  int64_t p = 0;
  for (float l : labels) p += l > 0.5f;
  return p;
}

// Cumulative (tp, fp) at each distinct score, descending.
struct Step {
  double threshold;
  int64_t tp, fp;
};
std::vector<Step> Steps(const std::vector<float>& scores, const std::vector<float>& labels) {
  std::vector<Step> steps;
  const std::vector<size_t> order = ByScoreDescending(scores);
  int64_t tp = 0, fp = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    if (labels[order[i]] > 0.5f) ++tp; else ++fp;
    if (i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]])
      steps.push_back({scores[order[i]], tp, fp});
  }
  return steps;
}

}  // namespace

double AveragePrecision(const std::vector<float>& scores, const std::vector<float>& labels) {
  const int64_t p = Positives(labels);
  if (p == 0) return 0;
  double ap = 0, prev_recall = 0;
  for (const Step& s : Steps(scores, labels)) {
    const double recall = static_cast<double>(s.tp) / p;
    ap += (recall - prev_recall) * static_cast<double>(s.tp) / (s.tp + s.fp);
    prev_recall = recall;
  }
  return ap;
}

double RocAuc(const std::vector<float>& scores, const std::vector<float>& labels) {
  const int64_t p = Positives(labels);
  const int64_t n = static_cast<int64_t>(labels.size()) - p;
  if (p == 0 || n == 0) return 0.5;
  // Trapezoids between successive distinct thresholds: ties count one half.
  double area = 0;
  int64_t prev_tp = 0, prev_fp = 0;
  for (const Step& s : Steps(scores, labels)) {
    area += static_cast<double>(s.fp - prev_fp) * (s.tp + prev_tp) / 2.0;
    prev_tp = s.tp;
    prev_fp = s.fp;
  }
  return area / (static_cast<double>(p) * n);
}

Confusion ConfusionAt(const std::vector<float>& scores, const std::vector<float>& labels, double threshold) {
  Confusion c;
  for (size_t i = 0; i < scores.size(); ++i) {
    const bool flagged = scores[i] >= threshold;
    const bool fraud = labels[i] > 0.5f;
    if (flagged && fraud) ++c.tp;
    else if (flagged) ++c.fp;
    else if (fraud) ++c.fn;
    else ++c.tn;
  }
  return c;
}

std::vector<CurvePoint> Curve(const std::vector<float>& scores, const std::vector<float>& labels) {
  const int64_t p = Positives(labels);
  const int64_t n = static_cast<int64_t>(labels.size()) - p;
  std::vector<CurvePoint> points;
  for (const Step& s : Steps(scores, labels)) {
    CurvePoint c;
    c.threshold = s.threshold;
    c.precision = s.tp + s.fp == 0 ? 1.0 : static_cast<double>(s.tp) / (s.tp + s.fp);
    c.recall = p == 0 ? 0.0 : static_cast<double>(s.tp) / p;
    c.fpr = n == 0 ? 0.0 : static_cast<double>(s.fp) / n;
    points.push_back(c);
  }
  return points;
}

double CardPrecisionAtK(const std::vector<float>& scores, const std::vector<float>& labels,
                        const std::vector<int64_t>& customer_ids, const std::vector<int64_t>& ts, int k) {
  struct Card {
    float score = -std::numeric_limits<float>::infinity();
    bool compromised = false;
  };
  // day -> customer -> card; ordered maps keep the result independent of hashing.
  std::map<int64_t, std::map<int64_t, Card>> days;
  for (size_t i = 0; i < scores.size(); ++i) {
    Card& card = days[DayStart(ts[i])][customer_ids[i]];
    card.score = std::max(card.score, scores[i]);
    card.compromised = card.compromised || labels[i] > 0.5f;
  }
  if (days.empty() || k <= 0) return 0;
  double sum = 0;
  for (const auto& [day, cards] : days) {
    std::vector<std::pair<int64_t, Card>> ranked(cards.begin(), cards.end());  // ascending customer id
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.second.score > b.second.score; });
    int64_t hits = 0;
    for (size_t i = 0; i < ranked.size() && i < static_cast<size_t>(k); ++i) hits += ranked[i].second.compromised;
    sum += static_cast<double>(hits) / k;
  }
  return sum / static_cast<double>(days.size());
}

Result<double> ThresholdForRecall(const std::vector<float>& scores, const std::vector<float>& labels,
                                  double target_recall) {
  if (!(target_recall > 0 && target_recall <= 1))
    return InvalidArgument(fmt::format("threshold: target_recall must be in (0, 1], got {}", target_recall));
  const int64_t p = Positives(labels);
  if (p == 0) return InvalidArgument("threshold: no positive label to measure recall on");
  for (const Step& s : Steps(scores, labels)) {
    // Steps go from the highest threshold down, so the first that reaches the
    // target is the highest such threshold. The tolerance keeps r = 0.8 with
    // 4 of 5 positives from failing on rounding.
    if (static_cast<double>(s.tp) / p >= target_recall - 1e-12) return s.threshold;
  }
  return Internal("threshold: recall 1 not reached at the lowest score");  // unreachable: the last step has tp = p
}

Result<double> ThresholdForCost(const std::vector<float>& scores, const std::vector<float>& labels, double fp_cost,
                                double fn_cost) {
  if (fp_cost < 0 || fn_cost < 0 || (fp_cost == 0 && fn_cost == 0) || !std::isfinite(fp_cost) ||
      !std::isfinite(fn_cost))
    return InvalidArgument(
        fmt::format("threshold: fp_cost and fn_cost must be finite, >= 0 and not both 0, got {} and {}", fp_cost,
                    fn_cost));
  const int64_t p = Positives(labels);
  double best_threshold = std::numeric_limits<double>::infinity();
  double best_cost = fn_cost * static_cast<double>(p);  // flag nothing: every fraud missed
  for (const Step& s : Steps(scores, labels)) {
    const double cost = fp_cost * static_cast<double>(s.fp) + fn_cost * static_cast<double>(p - s.tp);
    if (cost < best_cost) {  // strict: on a tie the earlier (higher) threshold stays
      best_cost = cost;
      best_threshold = s.threshold;
    }
  }
  return best_threshold;
}

Metrics Evaluate(const std::vector<float>& scores, const std::vector<float>& labels,
                 const std::vector<int64_t>& customer_ids, const std::vector<int64_t>& ts, double threshold, int k) {
  Metrics m;
  m.rows = static_cast<int64_t>(scores.size());
  m.positives = Positives(labels);
  m.threshold = threshold;
  m.k = k;
  m.auprc = AveragePrecision(scores, labels);
  m.roc_auc = RocAuc(scores, labels);
  m.confusion = ConfusionAt(scores, labels, threshold);
  const Confusion& c = m.confusion;
  m.precision = c.tp + c.fp == 0 ? 0.0 : static_cast<double>(c.tp) / (c.tp + c.fp);
  m.recall = c.tp + c.fn == 0 ? 0.0 : static_cast<double>(c.tp) / (c.tp + c.fn);
  m.f1 = m.precision + m.recall == 0 ? 0.0 : 2 * m.precision * m.recall / (m.precision + m.recall);
  m.accuracy = m.rows == 0 ? 0.0 : static_cast<double>(c.tp + c.tn) / m.rows;
  m.card_precision_at_k = CardPrecisionAtK(scores, labels, customer_ids, ts, k);
  return m;
}

}  // namespace lathe::ml
