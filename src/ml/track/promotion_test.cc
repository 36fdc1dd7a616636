// The promotion rule on hand-made scores: the weighted (bootstrap) average
// precision equals the plain one on repeated rows; better -> promoted, a
// gain below the margin -> kept, a gain whose interval includes zero ->
// kept, no champion -> promoted; the resampling is deterministic for a seed.
#include "ml/track/promotion.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "ml/train/metrics.h"

namespace lathe::ml {
namespace {

// n rows, about rate positives; the strong model sees the label through
// noise, the weak one does not.
struct Fixture {
  std::vector<float> labels, strong, weak;
};
Fixture Make(size_t n, double rate, uint64_t seed) {
  Fixture f;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  for (size_t i = 0; i < n; ++i) {
    float label = u(rng) < rate ? 1.0f : 0.0f;
    f.labels.push_back(label);
    f.strong.push_back(static_cast<float>(label * 0.6 + u(rng)));
    f.weak.push_back(static_cast<float>(label * 0.1 + u(rng)));
  }
  return f;
}

TEST(Promotion, WeightedAveragePrecisionEqualsRepeatedRows) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<float> scores, labels;
    std::vector<uint32_t> counts;
    std::vector<float> rep_scores, rep_labels;
    for (int i = 0; i < 30; ++i) {
      scores.push_back(static_cast<float>(rng() % 7) / 7.0f);  // many ties
      labels.push_back(rng() % 4 == 0 ? 1.0f : 0.0f);
      counts.push_back(static_cast<uint32_t>(rng() % 4));
      for (uint32_t c = 0; c < counts.back(); ++c) {
        rep_scores.push_back(scores.back());
        rep_labels.push_back(labels.back());
      }
    }
    std::vector<size_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
    EXPECT_NEAR(WeightedAveragePrecision(scores, labels, counts, order), AveragePrecision(rep_scores, rep_labels),
                1e-12)
        << "trial " << trial;
  }
}

TEST(Promotion, FirstModelBecomesChampion) {
  Fixture f = Make(500, 0.1, 1);
  PromotionDecision d = DecidePromotion(PromotionPolicy{}, f.weak, std::nullopt, f.labels);
  EXPECT_TRUE(d.promote);
  EXPECT_NE(d.reason.find("first model"), std::string::npos) << d.reason;
  EXPECT_DOUBLE_EQ(d.challenger_auprc, AveragePrecision(f.weak, f.labels));
}

TEST(Promotion, ClearlyBetterIsPromoted) {
  Fixture f = Make(2000, 0.1, 2);
  PromotionPolicy policy;  // margin 0.01, 1000 resamples, 95%
  PromotionDecision d = DecidePromotion(policy, f.strong, f.weak, f.labels);
  EXPECT_TRUE(d.promote) << d.reason;
  EXPECT_GT(d.difference, 0.2);
  EXPECT_GT(d.ci_low, 0);
  EXPECT_LT(d.ci_low, d.difference);
  EXPECT_GT(d.ci_high, d.difference);
  EXPECT_NEAR(d.difference, d.challenger_auprc - d.champion_auprc, 1e-12);
  EXPECT_EQ(d.n_bootstrap, 1000);
  EXPECT_NE(d.reason.find("promoted"), std::string::npos);
}

TEST(Promotion, GainBelowTheMarginKeepsTheChampion) {
  Fixture f = Make(2000, 0.1, 2);
  // Identical scores: no gain at all.
  PromotionDecision same = DecidePromotion(PromotionPolicy{}, f.weak, f.weak, f.labels);
  EXPECT_FALSE(same.promote);
  EXPECT_EQ(same.difference, 0);
  EXPECT_NE(same.reason.find("below the margin"), std::string::npos) << same.reason;
  // A real, significant gain that is still smaller than a large margin.
  PromotionPolicy strict;
  strict.margin = 0.9;
  PromotionDecision d = DecidePromotion(strict, f.strong, f.weak, f.labels);
  EXPECT_FALSE(d.promote);
  EXPECT_GT(d.ci_low, 0);
  EXPECT_NE(d.reason.find("below the margin"), std::string::npos) << d.reason;
  // A worse challenger.
  EXPECT_FALSE(DecidePromotion(PromotionPolicy{}, f.weak, f.strong, f.labels).promote);
}

TEST(Promotion, GainWhoseIntervalIncludesZeroKeepsTheChampion) {
  // 40 rows, 4 frauds; the challenger ranks one fraud higher than the
  // champion does and is otherwise identical: better on the full window, but
  // about a third of the resamples do not contain that row.
  std::vector<float> labels(40, 0.0f), champion(40), challenger;
  for (int i = 0; i < 40; ++i) champion[static_cast<size_t>(i)] = static_cast<float>(40 - i) / 40.0f;
  for (int i : {2, 9, 17, 30}) labels[static_cast<size_t>(i)] = 1;
  challenger = champion;
  challenger[30] = 0.99f;  // second from the top instead of 31st
  PromotionPolicy policy;
  policy.margin = 0.05;
  PromotionDecision d = DecidePromotion(policy, challenger, champion, labels);
  EXPECT_GT(d.difference, policy.margin);
  EXPECT_LE(d.ci_low, 0);
  EXPECT_FALSE(d.promote);
  EXPECT_NE(d.reason.find("includes zero"), std::string::npos) << d.reason;
}

TEST(Promotion, BootstrapIsDeterministicForASeed) {
  Fixture f = Make(300, 0.1, 4);
  BootstrapInterval a = PairedBootstrapAuprc(f.strong, f.weak, f.labels, 200, 0.95, 7);
  BootstrapInterval b = PairedBootstrapAuprc(f.strong, f.weak, f.labels, 200, 0.95, 7);
  BootstrapInterval c = PairedBootstrapAuprc(f.strong, f.weak, f.labels, 200, 0.95, 8);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  EXPECT_NE(a.low, c.low);
  EXPECT_EQ(a.difference, c.difference);
  // A wider confidence gives a wider interval.
  BootstrapInterval wide = PairedBootstrapAuprc(f.strong, f.weak, f.labels, 200, 0.99, 7);
  EXPECT_LE(wide.low, a.low);
  EXPECT_GE(wide.high, a.high);
}

TEST(Promotion, BadPoliciesAreNamed) {
  PromotionPolicy p;
  EXPECT_TRUE(ValidatePolicy(p).ok());
  p.margin = -0.1;
  EXPECT_NE(ValidatePolicy(p).message().find("margin"), std::string::npos);
  p = {};
  p.n_bootstrap = 3;
  EXPECT_NE(ValidatePolicy(p).message().find("n_bootstrap"), std::string::npos);
  p = {};
  p.confidence = 1;
  EXPECT_NE(ValidatePolicy(p).message().find("confidence"), std::string::npos);
}

}  // namespace
}  // namespace lathe::ml
