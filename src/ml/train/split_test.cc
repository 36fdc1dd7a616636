// The time split: never a test-day row in training, the gap left empty.
#include "ml/train/split.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "ml/data/transaction.h"

namespace lathe::ml {
namespace {

constexpr int64_t kDay = kSecondsPerDay;
constexpr int64_t kStart = 20000 * kDay;

// Rows every 3 hours over `days` days, plus one at each day's last second.
std::vector<int64_t> Times(int64_t days) {
  std::vector<int64_t> ts;
  for (int64_t d = 0; d < days; ++d) {
    for (int64_t h = 0; h < 24; h += 3) ts.push_back(kStart + d * kDay + h * 3600);
    ts.push_back(kStart + d * kDay + kDay - 1);
  }
  return ts;
}

TEST(TimeSplit, PartsAreOrderedByDayAndTheGapIsEmpty) {
  const std::vector<int64_t> ts = Times(40);
  const SplitConfig c{21, 5, 7, 7};
  auto s = TimeSplit(ts, c);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->test_to, kStart + 40 * kDay);
  EXPECT_EQ(s->test_from, kStart + 33 * kDay);
  EXPECT_EQ(s->gap_from, kStart + 26 * kDay);
  EXPECT_EQ(s->validation_from, kStart + 21 * kDay);
  EXPECT_EQ(s->train_from, kStart + 5 * kDay);
  EXPECT_EQ(s->test.size(), 7u * 9);
  EXPECT_EQ(s->validation.size(), 5u * 9);
  EXPECT_EQ(s->fit.size(), 16u * 9);
  for (size_t i : s->fit) EXPECT_TRUE(ts[i] >= s->train_from && ts[i] < s->validation_from);
  for (size_t i : s->validation) EXPECT_TRUE(ts[i] >= s->validation_from && ts[i] < s->gap_from);
  for (size_t i : s->test) EXPECT_GE(ts[i], s->test_from);
  // Every row is in at most one part, and no used row lies in the gap.
  std::vector<int> uses(ts.size(), 0);
  for (const auto* part : {&s->fit, &s->validation, &s->test})
    for (size_t i : *part) ++uses[i];
  for (size_t i = 0; i < ts.size(); ++i) {
    EXPECT_LE(uses[i], 1);
    if (ts[i] >= s->gap_from && ts[i] < s->test_from) {
      EXPECT_EQ(uses[i], 0) << "row " << i << " is in the gap";
    }
  }
}

TEST(TimeSplit, UnorderedRowsAndTheLastSecondOfADay) {
  std::vector<int64_t> ts = Times(10);
  std::reverse(ts.begin(), ts.end());
  auto s = TimeSplit(ts, SplitConfig{4, 1, 2, 3});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->test.size(), 3u * 9);
  for (size_t i : s->test) EXPECT_GE(ts[i], s->test_from);
  // The last second before the test window belongs to the gap.
  for (size_t i : s->validation) EXPECT_LT(ts[i], s->gap_from);
}

TEST(TimeSplit, RefusesTooFewDaysAndBadConfigs) {
  const std::vector<int64_t> ts = Times(20);
  auto short_data = TimeSplit(ts, SplitConfig{21, 5, 7, 7});
  ASSERT_FALSE(short_data.ok());
  EXPECT_NE(short_data.status().message().find("spans 20 days"), std::string::npos) << short_data.status().message();
  EXPECT_FALSE(TimeSplit(ts, SplitConfig{5, 5, 1, 1}).ok());  // validation fills the training window
  EXPECT_FALSE(TimeSplit(ts, SplitConfig{5, 1, -1, 1}).ok());
  EXPECT_FALSE(TimeSplit(ts, SplitConfig{5, 1, 1, 0}).ok());
  EXPECT_FALSE(TimeSplit({}, SplitConfig{5, 1, 1, 1}).ok());
}

}  // namespace
}  // namespace lathe::ml
