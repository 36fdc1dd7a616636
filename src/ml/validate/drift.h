// Drift statistics between a reference sample and a current one: the
// population stability index over reference-quantile bins, and the
// two-sample Kolmogorov-Smirnov statistic. Pure functions; thread-safe.
#pragma once

#include <vector>

namespace lathe::ml {

struct PsiResult {
  double psi = 0;
  std::vector<double> edges;      // bins+1 edges; the outer two are the samples' min and max
  std::vector<double> reference;  // share of the reference sample per bin (sums to 1)
  std::vector<double> current;    // share of the current sample per bin
};

// PSI = sum over bins (c - r) * ln(c / r), with shares floored at 1e-4 so an
// empty bin stays finite. Bins are reference deciles (for bins=10); ties can
// merge edges, so fewer bins may result. Both samples must be non-empty.
PsiResult PopulationStabilityIndex(const std::vector<double>& reference, const std::vector<double>& current,
                                   int bins);

struct KsResult {
  double statistic = 0;  // sup |F_ref(x) - F_cur(x)|
  double at = 0;         // the x where it is reached
  // Both ECDFs sampled at up to 64 points across the pooled range, for charts.
  std::vector<double> xs, reference_cdf, current_cdf;
};

// Both samples must be non-empty; they are copied and sorted.
KsResult KolmogorovSmirnov(std::vector<double> reference, std::vector<double> current);

}  // namespace lathe::ml
