// ResilientCaller: the resilience every upstream call gets, in one place — a
// concurrency cap (ConcurrencyLimiter), a circuit breaker (CircuitBreaker),
// retries with backoff (RetryPolicy), a per-try timeout bounded by the
// caller's deadline, and request/error metrics. The call itself is a function
// that makes one try and says how it went (TryOutcome). Thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"
#include "net/circuit_breaker.h"
#include "net/concurrency_limiter.h"
#include "net/http_client.h"
#include "net/metrics.h"
#include "net/retry_policy.h"

namespace lathe::net {

struct ResilienceOptions {
  std::chrono::milliseconds per_try_timeout{30000};
  RetryOptions retry;
  CircuitBreakerOptions breaker;
  size_t max_concurrent = 16;
};

// How one try went.
struct TryOutcome {
  Status status;  // OK, or the error to report if no further try follows
  // Metrics label when !status.ok(): timeout, connect, reset, status_429,
  // status_5xx, status_4xx, bad_response.
  std::string reason;
  bool retryable = false;         // another try may succeed
  bool upstream_failure = false;  // counts against the circuit breaker
  bool committed = false;         // output was already handed on: never retry
  std::optional<std::chrono::milliseconds> retry_after;  // the server's wish

  static TryOutcome Ok() { return {}; }
  // From an HttpClient error: timeout (DeadlineExceeded), connect or reset
  // (Unavailable); what names the call for the message ("chat completion").
  static TryOutcome FromTransport(const Status& status, const std::string& what);
  // From a non-2xx response: 429 → ResourceExhausted, 5xx → Unavailable (both
  // retryable), other 4xx → InvalidArgument. The message quotes the upstream's
  // OpenAI-style error message when there is one.
  static TryOutcome FromHttpStatus(const ClientResponse& response, const std::string& what);
  // A 2xx response the caller could not use (invalid JSON, missing fields).
  static TryOutcome BadResponse(const std::string& message);
};

// Metric families (owned by a MetricsRegistry) a ResilientCaller updates;
// any may be null.
struct CallMetrics {
  Family<Histogram>* seconds = nullptr;   // {backend, outcome}: ok|error|timeout|rejected
  Family<Counter>* errors = nullptr;      // {backend, reason}
  Family<Gauge>* circuit_open = nullptr;  // {backend}: 0 closed, 1 open or half-open
  Family<Gauge>* in_flight = nullptr;     // {backend}

  // Registers <prefix>_request_seconds, <prefix>_errors_total,
  // <prefix>_circuit_open and <prefix>_in_flight; `calls` names the calls in
  // the help texts ("Chat completion calls"). Empty metrics when registry is null.
  static CallMetrics Register(MetricsRegistry* registry, const std::string& prefix, const std::string& calls);
};

// The resilience knobs every upstream client's options carry under the same
// names (per_try_timeout, max_tries, backoff_base, backoff_max,
// breaker_failure_threshold, breaker_cool_down, max_concurrent).
template <typename ClientOptions>
ResilienceOptions ResilienceFrom(const ClientOptions& o) {
  ResilienceOptions r;
  r.per_try_timeout = o.per_try_timeout;
  r.retry.max_tries = o.max_tries;
  r.retry.base_backoff = o.backoff_base;
  r.retry.max_backoff = o.backoff_max;
  r.breaker.failure_threshold = o.breaker_failure_threshold;
  r.breaker.cool_down = o.breaker_cool_down;
  r.max_concurrent = o.max_concurrent;
  return r;
}

class ResilientCaller {
 public:
  ResilientCaller(std::string backend, ResilienceOptions options, CallMetrics metrics = {},
                  CircuitBreaker::NowFn now = &std::chrono::steady_clock::now);

  // Makes one try with a timeout of min(per_try_timeout, time left).
  using TryFn = std::function<boost::asio::awaitable<TryOutcome>(std::chrono::milliseconds timeout)>;

  // Waits for a concurrency slot, then calls try_fn until it succeeds, gives a
  // final or committed outcome, the tries are used up, or the deadline would
  // pass. Errors: the last try's status (prefixed with the number of tries
  // when there were several); DeadlineExceeded when the deadline passed
  // (waiting for a slot included); Unavailable naming the backend when the
  // circuit is open (the upstream is not called).
  boost::asio::awaitable<Status> Run(std::chrono::steady_clock::time_point deadline, TryFn try_fn);

  const std::string& backend() const { return backend_; }
  CircuitBreaker& breaker() { return breaker_; }
  ConcurrencyLimiter& limiter() { return limiter_; }

 private:
  Status Finish(Status status, const char* outcome, std::chrono::steady_clock::time_point start);
  void CountError(const std::string& reason);

  const std::string backend_;
  const ResilienceOptions options_;
  const CallMetrics metrics_;
  RetryPolicy retry_;
  CircuitBreaker breaker_;
  ConcurrencyLimiter limiter_;
};

}  // namespace lathe::net
