// CircuitBreaker: stops calling an upstream that keeps failing. Closed (calls
// pass) → open after `failure_threshold` consecutive failures (calls are
// rejected without reaching the upstream) → half-open once `cool_down` has
// passed (one probe call passes) → closed when the probe succeeds, open again
// when it fails. Time comes from an injectable clock. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>

namespace lathe::net {

struct CircuitBreakerOptions {
  int failure_threshold = 5;
  std::chrono::milliseconds cool_down{10000};
};

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  using NowFn = std::function<std::chrono::steady_clock::time_point()>;
  // Called on every state change with the new state, under the breaker's
  // lock: it must be quick and must not call back into the breaker.
  using ChangeFn = std::function<void(State)>;

  explicit CircuitBreaker(CircuitBreakerOptions options, NowFn now = &std::chrono::steady_clock::now,
                          ChangeFn on_change = nullptr);

  // Whether a call may go to the upstream now. Closed: always. Open: no,
  // until the cool-down has passed; then the state becomes half-open and this
  // call is the probe. Half-open: no while the probe is out (a probe that
  // never reports back is given up on after another cool-down). A caller that
  // was allowed must report with RecordSuccess or RecordFailure.
  bool Allow();
  // The upstream answered usefully (any response that proves it is alive).
  void RecordSuccess();
  // The upstream failed (connect error, reset, timeout, 429, 5xx).
  void RecordFailure();

  State state() const;
  static const char* StateName(State state);

 private:
  void SetState(State state);  // requires mu_

  // Constant after construction.
  const CircuitBreakerOptions options_;
  const NowFn now_;
  const ChangeFn on_change_;

  mutable std::mutex mu_;
  State state_ = State::kClosed;                         // guarded by mu_
  int consecutive_failures_ = 0;                         // guarded by mu_
  std::chrono::steady_clock::time_point opened_at_{};    // guarded by mu_
  std::chrono::steady_clock::time_point probe_sent_at_{};  // guarded by mu_
};

}  // namespace lathe::net
