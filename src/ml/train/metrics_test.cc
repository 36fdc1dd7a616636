// Metrics and threshold rules against values worked out by hand.
#include "ml/train/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace lathe::ml {
namespace {

// Positives at 0.9 and 0.7; negatives at 0.8, 0.6, 0.5.
const std::vector<float> kScores = {0.9f, 0.8f, 0.7f, 0.6f, 0.5f};
const std::vector<float> kLabels = {1, 0, 1, 0, 0};
// Ties: a positive and a negative share 0.5.
const std::vector<float> kTiedScores = {0.9f, 0.5f, 0.5f, 0.1f};
const std::vector<float> kTiedLabels = {1, 1, 0, 0};

TEST(Metrics, AveragePrecisionByHand) {
  // R 0 -> 0.5 at P 1, then 0.5 -> 1 at P 2/3: 0.5 + 1/3.
  EXPECT_NEAR(AveragePrecision(kScores, kLabels), 0.5 + 1.0 / 3, 1e-12);
  // The tie is one step: (0.5 at P 1) + (0.5 at P 2/3), not a positive-first order (which would give 1).
  EXPECT_NEAR(AveragePrecision(kTiedScores, kTiedLabels), 0.5 + 1.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(AveragePrecision({0.3f, 0.2f}, {0, 0}), 0.0);
  EXPECT_DOUBLE_EQ(AveragePrecision({0.3f, 0.2f}, {1, 0}), 1.0);
}

TEST(Metrics, RocAucByHandWithTiesCountingHalf) {
  // 0.9 beats 3 negatives, 0.7 beats 2 of 3: 5/6.
  EXPECT_NEAR(RocAuc(kScores, kLabels), 5.0 / 6, 1e-12);
  // 0.9 beats both; 0.5 ties one (1/2) and beats one: 3.5 / 4.
  EXPECT_NEAR(RocAuc(kTiedScores, kTiedLabels), 0.875, 1e-12);
  EXPECT_DOUBLE_EQ(RocAuc({0.1f, 0.9f}, {1, 0}), 0.0);
  EXPECT_DOUBLE_EQ(RocAuc({0.1f, 0.9f}, {1, 1}), 0.5);
}

TEST(Metrics, ConfusionAtThresholdIsInclusive) {
  const Confusion c = ConfusionAt(kScores, kLabels, 0.7f);
  EXPECT_EQ(c.tp, 2);
  EXPECT_EQ(c.fp, 1);
  EXPECT_EQ(c.tn, 2);
  EXPECT_EQ(c.fn, 0);
  const Confusion none = ConfusionAt(kScores, kLabels, 0.95);
  EXPECT_EQ(none.tp + none.fp, 0);
  EXPECT_EQ(none.fn, 2);
}

TEST(Metrics, EvaluateDerivesRatesFromTheConfusion) {
  const std::vector<int64_t> customers = {1, 2, 3, 4, 5};
  const std::vector<int64_t> ts = {0, 0, 0, 0, 0};
  const Metrics m = Evaluate(kScores, kLabels, customers, ts, 0.7f, 2);
  EXPECT_NEAR(m.precision, 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(m.recall, 1.0);
  EXPECT_NEAR(m.f1, 0.8, 1e-12);
  EXPECT_NEAR(m.accuracy, 0.8, 1e-12);
  EXPECT_EQ(m.rows, 5);
  EXPECT_EQ(m.positives, 2);
  EXPECT_DOUBLE_EQ(m.card_precision_at_k, 0.5);  // cards 1 (fraud) and 2 (not) on top
}

TEST(Metrics, CurveHasOnePointPerDistinctScore) {
  const auto points = Curve(kScores, kLabels);
  ASSERT_EQ(points.size(), 5u);
  EXPECT_FLOAT_EQ(points[0].threshold, 0.9f);
  EXPECT_DOUBLE_EQ(points[0].precision, 1.0);
  EXPECT_DOUBLE_EQ(points[0].recall, 0.5);
  EXPECT_DOUBLE_EQ(points[0].fpr, 0.0);
  EXPECT_NEAR(points[2].precision, 2.0 / 3, 1e-12);
  EXPECT_NEAR(points[2].fpr, 1.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(points[4].recall, 1.0);
  EXPECT_DOUBLE_EQ(points[4].fpr, 1.0);
  EXPECT_EQ(Curve(kTiedScores, kTiedLabels).size(), 3u);
}

TEST(Metrics, CardPrecisionAtKPerDayByHand) {
  const int64_t d0 = 0, d1 = 86400;
  // Day 0: card 1 max 0.9 and compromised (its 0.2 row is fraud), card 2 at
  // 0.8 clean, card 3 at 0.1 compromised. Day 1: card 1 at 0.3 clean, card 2
  // at 0.7 compromised.
  const std::vector<float> scores = {0.9f, 0.2f, 0.8f, 0.1f, 0.3f, 0.7f};
  const std::vector<float> labels = {0, 1, 0, 1, 0, 1};
  const std::vector<int64_t> cards = {1, 1, 2, 3, 1, 2};
  const std::vector<int64_t> ts = {d0 + 10, d0 + 20, d0 + 30, d0 + 40, d1 + 5, d1 + 6};
  EXPECT_DOUBLE_EQ(CardPrecisionAtK(scores, labels, cards, ts, 1), 1.0);    // (1 + 1) / 2
  EXPECT_DOUBLE_EQ(CardPrecisionAtK(scores, labels, cards, ts, 2), 0.5);    // (1/2 + 1/2) / 2
  EXPECT_DOUBLE_EQ(CardPrecisionAtK(scores, labels, cards, ts, 3), 0.5);    // (2/3 + 1/3) / 2: divided by k
  EXPECT_DOUBLE_EQ(CardPrecisionAtK({}, {}, {}, {}, 100), 0.0);
}

TEST(Metrics, ThresholdForRecallIsTheHighestReachingTheTarget) {
  EXPECT_FLOAT_EQ(*ThresholdForRecall(kScores, kLabels, 0.5), 0.9f);
  EXPECT_FLOAT_EQ(*ThresholdForRecall(kScores, kLabels, 0.6), 0.7f);
  EXPECT_FLOAT_EQ(*ThresholdForRecall(kScores, kLabels, 1.0), 0.7f);
  EXPECT_FALSE(ThresholdForRecall(kScores, {0, 0, 0, 0, 0}, 0.8).ok());
  EXPECT_FALSE(ThresholdForRecall(kScores, kLabels, 0.0).ok());
  EXPECT_FALSE(ThresholdForRecall(kScores, kLabels, 1.5).ok());
}

TEST(Metrics, ThresholdForCostMinimisesTheCostHighestOnTies) {
  // fp 1, fn 1: 0.9 costs 1 (one miss), 0.7 costs 1 (one false alarm): the higher wins.
  EXPECT_FLOAT_EQ(*ThresholdForCost(kScores, kLabels, 1, 1), 0.9f);
  // fn 3: 0.9 costs 3, 0.7 costs 1.
  EXPECT_FLOAT_EQ(*ThresholdForCost(kScores, kLabels, 1, 3), 0.7f);
  // Missing fraud is free: flag nothing.
  EXPECT_EQ(*ThresholdForCost(kScores, kLabels, 1, 0), std::numeric_limits<double>::infinity());
  EXPECT_FALSE(ThresholdForCost(kScores, kLabels, -1, 1).ok());
  EXPECT_FALSE(ThresholdForCost(kScores, kLabels, 0, 0).ok());
}

}  // namespace
}  // namespace lathe::ml
