// Tests for the retrieval metrics, each checked against arithmetic done by
// hand in the comments.
#include "rag/eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace lathe::rag {
namespace {

// Ranking r1..r5 (r3 and r5 unjudged) against judgements
//   r2: grade 2, r4: grade 1, r9: grade 1 (never retrieved), r1: grade 0 (judged not relevant).
const std::vector<std::string> kRanked = {"r1", "r2", "r3", "r4", "r5"};
const Judgements kJudged = {{"r1", 0}, {"r2", 2}, {"r4", 1}, {"r9", 1}};

TEST(Metrics, NdcgAt10ByHand) {
  // DCG  = 2 / log2(2 + 1) + 1 / log2(4 + 1)          (r2 at rank 2, r4 at rank 4)
  //      = 2 / 1.5849625 + 1 / 2.3219281 = 1.2618595 + 0.4306766 = 1.6925361
  // IDCG = 2 / log2(2) + 1 / log2(3) + 1 / log2(4)   (grades 2, 1, 1 in the best order)
  //      = 2 + 0.6309298 + 0.5 = 3.1309298
  // nDCG = 1.6925361 / 3.1309298 = 0.5405848
  EXPECT_NEAR(NdcgAt(kRanked, kJudged, 10), 0.5405848, 1e-6);
  EXPECT_NEAR(ScoreRanking(kRanked, kJudged).ndcg10, 0.5405848, 1e-6);
}

TEST(Metrics, NdcgAtSmallDepth) {
  // k = 2: DCG = 2 / log2(3) = 1.2618595; IDCG = 2 / log2(2) + 1 / log2(3) = 2.6309298.
  EXPECT_NEAR(NdcgAt(kRanked, kJudged, 2), 1.2618595 / 2.6309298, 1e-6);
  // k = 1: r1 has grade 0 -> DCG 0.
  EXPECT_DOUBLE_EQ(NdcgAt(kRanked, kJudged, 1), 0.0);
}

TEST(Metrics, PerfectAndEmptyRankings) {
  EXPECT_DOUBLE_EQ(NdcgAt({"r2", "r4", "r9"}, kJudged, 10), 1.0);
  // Equal grades may come in either order.
  EXPECT_DOUBLE_EQ(NdcgAt({"r2", "r9", "r4"}, kJudged, 10), 1.0);
  EXPECT_DOUBLE_EQ(NdcgAt({}, kJudged, 10), 0.0);
  // No relevant documents at all: every metric is 0 (no division by zero).
  QueryMetrics none = ScoreRanking(kRanked, {{"r1", 0}});
  EXPECT_EQ(none.ndcg10, 0.0);
  EXPECT_EQ(none.r10, 0.0);
  EXPECT_EQ(none.mrr10, 0.0);
}

TEST(Metrics, PrecisionRecallAndMrrByHand) {
  QueryMetrics m = ScoreRanking(kRanked, kJudged);
  // Relevant (grade > 0): r2, r4, r9 -> 3 in total. Retrieved relevant: r2 (rank 2), r4 (rank 4).
  EXPECT_DOUBLE_EQ(m.p1, 0.0);         // r1 is grade 0
  EXPECT_DOUBLE_EQ(m.p5, 2.0 / 5.0);   // 0.4
  EXPECT_DOUBLE_EQ(m.p10, 2.0 / 10.0); // divides by k though only 5 were returned
  EXPECT_DOUBLE_EQ(m.r10, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.r100, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.mrr10, 1.0 / 2.0);  // first relevant at rank 2
}

TEST(Metrics, CutoffsAtTenAndHundred) {
  // The only relevant document sits at rank 11: outside every @10 metric, inside R@100.
  std::vector<std::string> ranked;
  for (int i = 1; i <= 20; ++i) ranked.push_back("d" + std::to_string(i));
  Judgements judged = {{"d11", 1}};
  QueryMetrics m = ScoreRanking(ranked, judged);
  EXPECT_DOUBLE_EQ(m.p10, 0.0);
  EXPECT_DOUBLE_EQ(m.r10, 0.0);
  EXPECT_DOUBLE_EQ(m.mrr10, 0.0);
  EXPECT_DOUBLE_EQ(m.ndcg10, 0.0);
  EXPECT_DOUBLE_EQ(m.r100, 1.0);
  // At rank 10 it counts: P@10 = 1/10, MRR = 1/10, nDCG = (1 / log2(11)) / (1 / log2(2)) = 0.2890648.
  judged = {{"d10", 1}};
  m = ScoreRanking(ranked, judged);
  EXPECT_DOUBLE_EQ(m.p10, 0.1);
  EXPECT_DOUBLE_EQ(m.mrr10, 0.1);
  EXPECT_NEAR(m.ndcg10, 0.2890648, 1e-6);
  EXPECT_DOUBLE_EQ(m.r10, 1.0);
}

TEST(Metrics, PercentileNearestRank) {
  // Sorted: 15 20 35 40 50 (n = 5); nearest rank = ceil(p / 100 * n).
  const std::vector<double> values = {50, 15, 40, 20, 35};
  EXPECT_DOUBLE_EQ(Percentile(values, 0), 15);     // rank 0 -> clamped to 1
  EXPECT_DOUBLE_EQ(Percentile(values, 5), 15);     // ceil(0.25) = 1
  EXPECT_DOUBLE_EQ(Percentile(values, 30), 20);    // ceil(1.5) = 2
  EXPECT_DOUBLE_EQ(Percentile(values, 40), 20);    // ceil(2.0) = 2
  EXPECT_DOUBLE_EQ(Percentile(values, 50), 35);    // ceil(2.5) = 3
  EXPECT_DOUBLE_EQ(Percentile(values, 95), 50);    // ceil(4.75) = 5
  EXPECT_DOUBLE_EQ(Percentile(values, 100), 50);
  EXPECT_DOUBLE_EQ(Percentile({}, 50), 0);
  EXPECT_DOUBLE_EQ(Percentile({7}, 99), 7);
}

}  // namespace
}  // namespace lathe::rag
