// Time-based train / validation / gap / test split of feature-matrix rows by
// UTC day — never a random split. Pure functions; thread-safe.
//
//   [ train (fit) | validation ] [ gap: label delay ] [ test ]
//   <--------- train_days ------><---- gap_days ----><test_days>
//
// The test window ends with the last day present in the data; rows before
// the training window (feature warm-up) and in the gap are left out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace lathe::ml {

struct SplitConfig {
  int64_t train_days = 21;      // fit + validation
  int64_t validation_days = 5;  // the last days of the training window (early stopping, threshold)
  int64_t gap_days = 7;         // label delay: no row of these days is used
  int64_t test_days = 7;
};

// Row indexes (into the ts vector given to TimeSplit) of each part, in
// ascending order, and the day boundaries (00:00 UTC, seconds; half-open).
struct TimeSplitRows {
  std::vector<size_t> fit, validation, test;
  int64_t train_from = 0, validation_from = 0, gap_from = 0, test_from = 0, test_to = 0;
};

// 00:00 UTC of ts's day (floor, also before 1970).
int64_t DayStart(int64_t ts);

// InvalidArgument when the config is out of range (days < 1, validation_days
// >= train_days, gap_days < 0) or the data spans fewer days than
// train_days + gap_days + test_days.
Result<TimeSplitRows> TimeSplit(const std::vector<int64_t>& ts, const SplitConfig& config);

}  // namespace lathe::ml
