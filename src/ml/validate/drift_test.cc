#include "ml/validate/drift.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace lathe::ml {
namespace {

std::vector<double> Normal(double mean, double sd, size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d(mean, sd);
  std::vector<double> out(n);
  for (double& x : out) x = d(rng);
  return out;
}

TEST(Drift, PsiMatchesTheFormulaOnHandCountedBins) {
  // Reference 1..10 in 2 bins (edges 1, 6, 10): shares 0.5 / 0.5.
  // Current: 3 values below 6 and 1 above: shares 0.75 / 0.25.
  std::vector<double> ref = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  std::vector<double> cur = {1, 2, 3, 9};
  PsiResult p = PopulationStabilityIndex(ref, cur, 2);
  ASSERT_EQ(p.reference.size(), 2u);
  EXPECT_DOUBLE_EQ(p.reference[0], 0.5);
  EXPECT_DOUBLE_EQ(p.current[0], 0.75);
  double expected = (0.75 - 0.5) * std::log(0.75 / 0.5) + (0.25 - 0.5) * std::log(0.25 / 0.5);
  EXPECT_NEAR(p.psi, expected, 1e-12);
}

TEST(Drift, PsiIsSmallForTheSameDistributionAndLargeForAShift) {
  auto ref = Normal(50, 10, 20000, 1);
  EXPECT_LT(PopulationStabilityIndex(ref, Normal(50, 10, 2000, 2), 10).psi, 0.02);
  EXPECT_GT(PopulationStabilityIndex(ref, Normal(60, 10, 2000, 3), 10).psi, 0.25);
}

TEST(Drift, KsStatisticAgainstKnownValues) {
  // Disjoint samples: the ECDFs differ by 1.
  EXPECT_DOUBLE_EQ(KolmogorovSmirnov({1, 2, 3}, {4, 5, 6}).statistic, 1.0);
  // Identical samples: 0.
  EXPECT_DOUBLE_EQ(KolmogorovSmirnov({1, 2, 3}, {1, 2, 3}).statistic, 0.0);
  // {1,2,3,4} vs {3,4,5,6}: at x=2, F_ref = 0.5, F_cur = 0.
  KsResult k = KolmogorovSmirnov({1, 2, 3, 4}, {3, 4, 5, 6});
  EXPECT_DOUBLE_EQ(k.statistic, 0.5);
  EXPECT_EQ(k.xs.size(), 64u);
  EXPECT_DOUBLE_EQ(k.reference_cdf.back(), 1.0);
  auto ref = Normal(0, 1, 20000, 4);
  EXPECT_LT(KolmogorovSmirnov(ref, Normal(0, 1, 2000, 5)).statistic, 0.05);
  EXPECT_GT(KolmogorovSmirnov(ref, Normal(0.5, 1, 2000, 6)).statistic, 0.15);
}

}  // namespace
}  // namespace lathe::ml
