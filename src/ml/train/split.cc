#include "ml/train/split.h"

#include <algorithm>

#include <fmt/format.h>

#include "ml/data/transaction.h"

namespace lathe::ml {
int64_t DayStart(int64_t ts) {
  int64_t day = ts / kSecondsPerDay;
  if (ts < 0 && ts % kSecondsPerDay != 0) --day;  // floor for times before 1970
  return day * kSecondsPerDay;
}

Result<TimeSplitRows> TimeSplit(const std::vector<int64_t>& ts, const SplitConfig& c) {
  if (c.train_days < 2) return InvalidArgument(fmt::format("split: train_days must be >= 2, got {}", c.train_days));
  if (c.validation_days < 1 || c.validation_days >= c.train_days)
    return InvalidArgument(fmt::format("split: validation_days must be in [1, train_days), got {}", c.validation_days));
  if (c.gap_days < 0) return InvalidArgument(fmt::format("split: gap_days must be >= 0, got {}", c.gap_days));
  if (c.test_days < 1) return InvalidArgument(fmt::format("split: test_days must be >= 1, got {}", c.test_days));
  if (ts.empty()) return InvalidArgument("split: no rows");

  const auto [min_it, max_it] = std::minmax_element(ts.begin(), ts.end());
  const int64_t first_day = DayStart(*min_it);
  const int64_t last_day = DayStart(*max_it);
  const int64_t span_days = (last_day - first_day) / kSecondsPerDay + 1;
  const int64_t needed = c.train_days + c.gap_days + c.test_days;
  if (span_days < needed)
    return InvalidArgument(fmt::format(
        "split: the data spans {} days but train_days + gap_days + test_days = {}", span_days, needed));

  TimeSplitRows s;
  s.test_to = last_day + kSecondsPerDay;
  s.test_from = s.test_to - c.test_days * kSecondsPerDay;
  s.gap_from = s.test_from - c.gap_days * kSecondsPerDay;
  s.train_from = s.gap_from - c.train_days * kSecondsPerDay;
  s.validation_from = s.gap_from - c.validation_days * kSecondsPerDay;
  for (size_t i = 0; i < ts.size(); ++i) {
    const int64_t t = ts[i];
    if (t >= s.test_from) {
      s.test.push_back(i);
    } else if (t >= s.gap_from) {
      continue;  // the gap: labels of these days are not known yet at test time
    } else if (t >= s.validation_from) {
      s.validation.push_back(i);
    } else if (t >= s.train_from) {
      s.fit.push_back(i);
    }
  }
  return s;
}

}  // namespace lathe::ml
