// The arithmetic both the batch and the online computation use, in one place,
// so that the two agree bit for bit: sums in oldest-to-newest order, the
// two-pass z-score, calendar flags. Pure functions; thread-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "ml/features/feature_spec.h"

namespace lathe::ml::features_math {

// Sum of amount(*it) over [first, last), in that order.
template <typename It, typename Amount>
double Sum(It first, It last, Amount amount) {
  double s = 0;
  for (It it = first; it != last; ++it) s += amount(*it);
  return s;
}

// (x - mean) / sample stddev of the amounts in [first, last); `missing` with
// fewer than 2 of them or a stddev that is zero (to rounding).
template <typename It, typename Amount>
float Zscore(double x, It first, It last, Amount amount, float missing) {
  double n = 0, sum = 0;
  for (It it = first; it != last; ++it) sum += amount(*it), n += 1;
  if (n < 2) return missing;
  const double mean = sum / n;
  double ss = 0;
  for (It it = first; it != last; ++it) ss += (amount(*it) - mean) * (amount(*it) - mean);
  const double sd = std::sqrt(ss / (n - 1));
  if (sd <= 1e-9 * std::max(1.0, std::fabs(mean))) return missing;
  return static_cast<float>((x - mean) / sd);
}

inline float Rate(double count, int64_t window_s) { return static_cast<float>(count * 3600.0 / window_s); }

inline float Risk(int64_t frauds, int64_t count, float missing) {
  return count == 0 ? missing : static_cast<float>(static_cast<double>(frauds) / static_cast<double>(count));
}

inline int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// 1 if ts's UTC hour is in [from_hour, to_hour), wrapping midnight when from > to.
inline float Night(int64_t ts, int from_hour, int to_hour) {
  const int hour = static_cast<int>((ts - FloorDiv(ts, 86400) * 86400) / 3600);
  const bool in = from_hour < to_hour ? (hour >= from_hour && hour < to_hour) : (hour >= from_hour || hour < to_hour);
  return in ? 1.0f : 0.0f;
}

// 1 on Saturday or Sunday UTC (1970-01-01 was a Thursday).
inline float Weekend(int64_t ts) {
  const int64_t weekday = ((FloorDiv(ts, 86400) + 3) % 7 + 7) % 7;  // Monday = 0
  return weekday >= 5 ? 1.0f : 0.0f;
}

// The features of one transaction that read nothing but the transaction.
inline float RowFeature(const FeatureDef& f, int64_t ts, double amount) {
  switch (f.kind) {
    case FeatureKind::kAmount:
      return static_cast<float>(amount);
    case FeatureKind::kNight:
      return Night(ts, f.from_hour, f.to_hour);
    case FeatureKind::kWeekend:
      return Weekend(ts);
    default:
      return f.missing;
  }
}

}  // namespace lathe::ml::features_math
