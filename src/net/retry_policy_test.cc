#include "net/retry_policy.h"

#include <gtest/gtest.h>

namespace lathe::net {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicy, RetryableStatuses) {
  for (int s : {429, 500, 502, 503, 504, 599}) EXPECT_TRUE(RetryPolicy::IsRetryableStatus(s)) << s;
  for (int s : {200, 400, 401, 404, 413, 501, 505}) EXPECT_FALSE(RetryPolicy::IsRetryableStatus(s)) << s;
}

TEST(RetryPolicy, BackoffIsFullJitterUnderAnExponentialCap) {
  RetryPolicy policy(RetryOptions{10, milliseconds(100), milliseconds(1000)}, 42);
  for (int retry = 1; retry <= 8; ++retry) {
    int64_t cap = std::min<int64_t>(1000, 100LL << (retry - 1));
    int64_t largest = 0;
    for (int i = 0; i < 200; ++i) {
      int64_t d = policy.Backoff(retry).count();
      ASSERT_GE(d, 0);
      ASSERT_LE(d, cap);
      largest = std::max(largest, d);
    }
    EXPECT_GT(largest, cap / 2) << "jitter should cover the range, retry " << retry;
  }
}

TEST(RetryPolicy, NextDelayGivesUpOnFinalOutcomesAndUsedUpTries) {
  RetryPolicy policy(RetryOptions{3, milliseconds(10), milliseconds(10)}, 1);
  EXPECT_FALSE(policy.NextDelay(1, false, std::nullopt, milliseconds(10000)));
  EXPECT_TRUE(policy.NextDelay(1, true, std::nullopt, milliseconds(10000)));
  EXPECT_TRUE(policy.NextDelay(2, true, std::nullopt, milliseconds(10000)));
  EXPECT_FALSE(policy.NextDelay(3, true, std::nullopt, milliseconds(10000)));
}

TEST(RetryPolicy, HonoursRetryAfterOnlyWithinTheDeadline) {
  RetryPolicy policy(RetryOptions{3, milliseconds(10), milliseconds(10)}, 1);
  EXPECT_EQ(policy.NextDelay(1, true, milliseconds(1500), milliseconds(5000)), milliseconds(1500));
  EXPECT_FALSE(policy.NextDelay(1, true, milliseconds(1500), milliseconds(1000)));
  // Backoff that would reach the deadline is pointless too.
  RetryPolicy slow(RetryOptions{3, milliseconds(500), milliseconds(500)}, 1);
  EXPECT_FALSE(slow.NextDelay(1, true, std::nullopt, milliseconds(0)));
}

TEST(RetryPolicy, ParsesRetryAfterSecondsAndDates) {
  EXPECT_EQ(RetryPolicy::ParseRetryAfter("2"), milliseconds(2000));
  EXPECT_EQ(RetryPolicy::ParseRetryAfter(" 0 "), milliseconds(0));
  EXPECT_FALSE(RetryPolicy::ParseRetryAfter(""));
  EXPECT_FALSE(RetryPolicy::ParseRetryAfter("soon"));
  EXPECT_FALSE(RetryPolicy::ParseRetryAfter("-1"));
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(RetryPolicy::ParseRetryAfter("Sun, 06 Nov 1994 08:49:40 GMT", now), milliseconds(3000));
  EXPECT_EQ(RetryPolicy::ParseRetryAfter("Sun, 06 Nov 1994 08:49:00 GMT", now), milliseconds(0));
}

}  // namespace
}  // namespace lathe::net
