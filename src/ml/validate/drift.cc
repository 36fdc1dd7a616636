#include "ml/validate/drift.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace lathe::ml {

PsiResult PopulationStabilityIndex(const std::vector<double>& reference, const std::vector<double>& current,
                                   int bins) {
  PsiResult out;
  std::vector<double> sorted = reference;
  std::sort(sorted.begin(), sorted.end());
  double lo = std::min(sorted.front(), *std::min_element(current.begin(), current.end()));
  double hi = std::max(sorted.back(), *std::max_element(current.begin(), current.end()));
  out.edges.push_back(lo);
  for (int b = 1; b < bins; ++b) {
    double q = sorted[std::min(sorted.size() - 1, static_cast<size_t>(static_cast<double>(sorted.size()) * b / bins))];
    if (q > out.edges.back()) out.edges.push_back(q);
  }
  if (hi > out.edges.back() || out.edges.size() == 1) out.edges.push_back(hi);
  const size_t n_bins = out.edges.size() - 1;
  auto shares = [&](const std::vector<double>& xs) {
    std::vector<double> counts(n_bins, 0);
    for (double x : xs) {
      // Bin b holds edges[b] <= x < edges[b+1]; the last bin includes its top edge.
      size_t b = static_cast<size_t>(std::upper_bound(out.edges.begin() + 1, out.edges.end() - 1, x) -
                                     (out.edges.begin() + 1));
      counts[b] += 1;
    }
    for (double& c : counts) c /= static_cast<double>(xs.size());
    return counts;
  };
  out.reference = shares(reference);
  out.current = shares(current);
  constexpr double kFloor = 1e-4;
  for (size_t b = 0; b < n_bins; ++b) {
    double r = std::max(out.reference[b], kFloor), c = std::max(out.current[b], kFloor);
    out.psi += (c - r) * std::log(c / r);
  }
  return out;
}

KsResult KolmogorovSmirnov(std::vector<double> reference, std::vector<double> current) {
  KsResult out;
  std::sort(reference.begin(), reference.end());
  std::sort(current.begin(), current.end());
  const double nr = static_cast<double>(reference.size()), nc = static_cast<double>(current.size());
  size_t i = 0, j = 0;
  while (i < reference.size() && j < current.size()) {
    double x = std::min(reference[i], current[j]);
    while (i < reference.size() && reference[i] <= x) ++i;
    while (j < current.size() && current[j] <= x) ++j;
    double d = std::fabs(static_cast<double>(i) / nr - static_cast<double>(j) / nc);
    if (d > out.statistic) {
      out.statistic = d;
      out.at = x;
    }
  }
  // Chart points at quantiles of the pooled sample, so a long tail does not
  // squeeze the body of the distribution into one corner.
  std::vector<double> pooled;
  pooled.reserve(reference.size() + current.size());
  std::merge(reference.begin(), reference.end(), current.begin(), current.end(), std::back_inserter(pooled));
  auto cdf = [](const std::vector<double>& s, double x) {
    return static_cast<double>(std::upper_bound(s.begin(), s.end(), x) - s.begin()) / static_cast<double>(s.size());
  };
  constexpr int kPoints = 64;
  for (int k = 0; k < kPoints; ++k) {
    double x = pooled[static_cast<size_t>(static_cast<double>(pooled.size() - 1) * k / (kPoints - 1))];
    out.xs.push_back(x);
    out.reference_cdf.push_back(cdf(reference, x));
    out.current_cdf.push_back(cdf(current, x));
  }
  return out;
}

}  // namespace lathe::ml
