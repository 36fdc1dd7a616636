#include "net/circuit_breaker.h"

namespace lathe::net {

CircuitBreaker::CircuitBreaker(CircuitBreakerOptions options, NowFn now, ChangeFn on_change)
    : options_(options), now_(std::move(now)), on_change_(std::move(on_change)) {}

bool CircuitBreaker::Allow() {
  std::lock_guard lock(mu_);
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (now_() - opened_at_ < options_.cool_down) return false;
      SetState(State::kHalfOpen);
      probe_sent_at_ = now_();
      return true;
    case State::kHalfOpen:
      // A probe whose caller vanished must not keep the circuit shut forever.
      if (now_() - probe_sent_at_ < options_.cool_down) return false;
      probe_sent_at_ = now_();
      return true;
  }
  return false;
}

void CircuitBreaker::RecordSuccess() {
  std::lock_guard lock(mu_);
  consecutive_failures_ = 0;
  if (state_ != State::kClosed) SetState(State::kClosed);
}

void CircuitBreaker::RecordFailure() {
  std::lock_guard lock(mu_);
  ++consecutive_failures_;
  if (state_ == State::kHalfOpen ||
      (state_ == State::kClosed && consecutive_failures_ >= options_.failure_threshold)) {
    opened_at_ = now_();
    SetState(State::kOpen);
  }
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

const char* CircuitBreaker::StateName(State state) {
  switch (state) {
    case State::kClosed: return "closed";
    case State::kOpen: return "open";
    case State::kHalfOpen: return "half-open";
  }
  return "unknown";
}

void CircuitBreaker::SetState(State state) {
  state_ = state;
  if (on_change_) on_change_(state);
}

}  // namespace lathe::net
