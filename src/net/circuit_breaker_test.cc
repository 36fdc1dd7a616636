#include "net/circuit_breaker.h"

#include <gtest/gtest.h>

#include <vector>

namespace lathe::net {
namespace {

using State = CircuitBreaker::State;
using std::chrono::milliseconds;

class FakeClock {
 public:
  std::chrono::steady_clock::time_point Now() const { return now_; }
  void Advance(milliseconds d) { now_ += d; }

 private:
  std::chrono::steady_clock::time_point now_{std::chrono::seconds(1000)};
};

class CircuitBreakerTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  std::vector<State> changes_;
  CircuitBreaker breaker_{CircuitBreakerOptions{3, milliseconds(1000)}, [this] { return clock_.Now(); },
                          [this](State s) { changes_.push_back(s); }};
};

TEST_F(CircuitBreakerTest, OpensAfterThresholdConsecutiveFailures) {
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(breaker_.Allow());
    breaker_.RecordFailure();
  }
  EXPECT_EQ(breaker_.state(), State::kClosed);
  ASSERT_TRUE(breaker_.Allow());
  breaker_.RecordFailure();
  EXPECT_EQ(breaker_.state(), State::kOpen);
  EXPECT_FALSE(breaker_.Allow());
  EXPECT_EQ(changes_, std::vector<State>{State::kOpen});
}

TEST_F(CircuitBreakerTest, SuccessResetsTheFailureCount) {
  breaker_.RecordFailure();
  breaker_.RecordFailure();
  breaker_.RecordSuccess();
  breaker_.RecordFailure();
  breaker_.RecordFailure();
  EXPECT_EQ(breaker_.state(), State::kClosed);
}

TEST_F(CircuitBreakerTest, HalfOpenAfterCoolDownLetsOneProbeThrough) {
  for (int i = 0; i < 3; ++i) breaker_.RecordFailure();
  clock_.Advance(milliseconds(999));
  EXPECT_FALSE(breaker_.Allow());
  clock_.Advance(milliseconds(1));
  EXPECT_TRUE(breaker_.Allow());  // the probe
  EXPECT_EQ(breaker_.state(), State::kHalfOpen);
  EXPECT_FALSE(breaker_.Allow());  // only one
  breaker_.RecordSuccess();
  EXPECT_EQ(breaker_.state(), State::kClosed);
  EXPECT_TRUE(breaker_.Allow());
  EXPECT_EQ(changes_, (std::vector<State>{State::kOpen, State::kHalfOpen, State::kClosed}));
}

TEST_F(CircuitBreakerTest, FailedProbeReopensForAnotherCoolDown) {
  for (int i = 0; i < 3; ++i) breaker_.RecordFailure();
  clock_.Advance(milliseconds(1000));
  ASSERT_TRUE(breaker_.Allow());
  breaker_.RecordFailure();
  EXPECT_EQ(breaker_.state(), State::kOpen);
  clock_.Advance(milliseconds(500));
  EXPECT_FALSE(breaker_.Allow());
  clock_.Advance(milliseconds(500));
  EXPECT_TRUE(breaker_.Allow());
}

TEST_F(CircuitBreakerTest, AbandonedProbeIsReplacedAfterAnotherCoolDown) {
  for (int i = 0; i < 3; ++i) breaker_.RecordFailure();
  clock_.Advance(milliseconds(1000));
  ASSERT_TRUE(breaker_.Allow());  // this caller never reports back
  clock_.Advance(milliseconds(999));
  EXPECT_FALSE(breaker_.Allow());
  clock_.Advance(milliseconds(1));
  EXPECT_TRUE(breaker_.Allow());
}

}  // namespace
}  // namespace lathe::net
