// Evaluation metrics of a fraud classifier (definitions in docs/training.md):
// average precision (AUPRC), ROC-AUC, the confusion matrix at a threshold,
// card precision@k per day, PR / ROC curve points, and the two threshold
// rules. Scores and labels are parallel arrays (label 1 = fraud); a row is
// predicted positive when score >= threshold. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"

namespace lathe::ml {

// Area under the precision-recall curve as average precision:
// sum over distinct thresholds (descending) of (R_n - R_{n-1}) * P_n, tied
// scores forming one step (as scikit-learn). 0 when there is no positive.
double AveragePrecision(const std::vector<float>& scores, const std::vector<float>& labels);
// Probability that a random positive outscores a random negative, ties
// counting one half (Mann-Whitney). 0.5 when either class is absent.
double RocAuc(const std::vector<float>& scores, const std::vector<float>& labels);

struct Confusion {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
};
Confusion ConfusionAt(const std::vector<float>& scores, const std::vector<float>& labels, double threshold);

// One point per distinct score, thresholds descending: predicted positive =
// score >= threshold. precision is 1 where nothing is predicted positive.
struct CurvePoint {
  double threshold = 0;
  double precision = 0, recall = 0;  // PR curve
  double fpr = 0;                    // ROC curve: (fpr, recall)
};
std::vector<CurvePoint> Curve(const std::vector<float>& scores, const std::vector<float>& labels);

// Card precision@k per day (Fraud Detection Handbook): for each UTC day, each
// customer (card) scores the maximum of its transactions' scores and is
// compromised that day when at least one of its transactions is fraudulent;
// the k highest-scoring cards (ties: lower customer id first) are checked and
// the day's value is compromised-among-them / k. Returns the mean over days
// that have rows (0 when there are none). All vectors have the same length.
double CardPrecisionAtK(const std::vector<float>& scores, const std::vector<float>& labels,
                        const std::vector<int64_t>& customer_ids, const std::vector<int64_t>& ts, int k);

// The highest threshold (a score present in the data) whose recall is
// >= target_recall. InvalidArgument when there is no positive or target is
// outside (0, 1].
Result<double> ThresholdForRecall(const std::vector<float>& scores, const std::vector<float>& labels,
                                  double target_recall);
// The threshold minimising fp_cost * FP + fn_cost * FN over every distinct
// score and "flag nothing" (+infinity); ties go to the highest threshold.
// InvalidArgument when a cost is negative or both are zero.
Result<double> ThresholdForCost(const std::vector<float>& scores, const std::vector<float>& labels, double fp_cost,
                                double fn_cost);

struct Metrics {
  int64_t rows = 0, positives = 0;
  double threshold = 0;
  double auprc = 0, roc_auc = 0;
  double precision = 0, recall = 0, f1 = 0, accuracy = 0;  // at threshold; precision 0 when nothing is flagged
  Confusion confusion;
  double card_precision_at_k = 0;
  int k = 100;
};
Metrics Evaluate(const std::vector<float>& scores, const std::vector<float>& labels,
                 const std::vector<int64_t>& customer_ids, const std::vector<int64_t>& ts, double threshold, int k);

}  // namespace lathe::ml
