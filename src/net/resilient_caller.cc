#include "net/resilient_caller.h"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

namespace lathe::net {

CallMetrics CallMetrics::Register(MetricsRegistry* registry, const std::string& prefix, const std::string& calls) {
  CallMetrics m;
  if (registry == nullptr) return m;
  m.seconds = registry->AddHistogram(prefix + "_request_seconds",
                                     calls + " by outcome (ok, error, timeout, rejected), retries included.",
                                     {"backend", "outcome"}, MetricsRegistry::LatencyBuckets());
  m.errors = registry->AddCounter(prefix + "_errors_total", "Failed tries of " + calls + " by reason.",
                                  {"backend", "reason"});
  m.circuit_open = registry->AddGauge(prefix + "_circuit_open", "1 while the circuit breaker of " + calls + " is open.",
                                      {"backend"});
  m.in_flight = registry->AddGauge(prefix + "_in_flight", calls + " holding a concurrency slot.", {"backend"});
  return m;
}
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The upstream's own words: error.message of an OpenAI-style error body, else
// the start of the body.
std::string UpstreamMessage(const std::string& body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object() && doc.contains("error")) {
    const nlohmann::json& error = doc["error"];
    if (error.is_object() && error.contains("message") && error["message"].is_string()) {
      return error["message"].get<std::string>();
    }
    if (error.is_string()) return error.get<std::string>();
  }
  std::string text = body.substr(0, 200);
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

const char* OutcomeOf(const Status& status) {
  if (status.ok()) return "ok";
  if (status.code() == StatusCode::kDeadlineExceeded) return "timeout";
  return "error";
}

}  // namespace

TryOutcome TryOutcome::FromTransport(const Status& status, const std::string& what) {
  TryOutcome out;
  out.upstream_failure = true;
  if (status.code() == StatusCode::kDeadlineExceeded) {
    out.status = DeadlineExceeded(what + ": " + status.message());
    out.reason = "timeout";
    return out;
  }
  out.status = Status(status.code() == StatusCode::kInvalidArgument ? StatusCode::kInvalidArgument
                                                                     : StatusCode::kUnavailable,
                      what + ": " + status.message());
  out.reason = IsConnectFailure(status) ? "connect" : "reset";
  out.retryable = status.code() == StatusCode::kUnavailable;
  if (status.code() == StatusCode::kInvalidArgument) out.upstream_failure = false;  // our URL, not their fault
  return out;
}

TryOutcome TryOutcome::FromHttpStatus(const ClientResponse& response, const std::string& what) {
  TryOutcome out;
  std::string message = fmt::format("{}: upstream answered HTTP {}: {}", what, response.status,
                                    UpstreamMessage(response.body));
  if (response.status == 429) {
    out.status = ResourceExhausted(message);
    out.reason = "status_429";
  } else if (response.status >= 500) {
    out.status = Unavailable(message);
    out.reason = "status_5xx";
  } else {
    out.status = InvalidArgument(message);
    out.reason = "status_4xx";
  }
  out.retryable = RetryPolicy::IsRetryableStatus(response.status);
  out.upstream_failure = out.retryable;
  if (out.retryable) out.retry_after = RetryPolicy::ParseRetryAfter(response.Header("Retry-After"));
  return out;
}

TryOutcome TryOutcome::BadResponse(const std::string& message) {
  TryOutcome out;
  out.status = Unavailable(message);
  out.reason = "bad_response";
  out.upstream_failure = true;
  return out;
}

ResilientCaller::ResilientCaller(std::string backend, ResilienceOptions options, CallMetrics metrics,
                                 CircuitBreaker::NowFn now)
    : backend_(std::move(backend)),
      options_(options),
      metrics_(metrics),
      retry_(options.retry),
      breaker_(options.breaker, std::move(now),
               [gauge = metrics.circuit_open ? &metrics.circuit_open->With({backend_}) : nullptr](
                   CircuitBreaker::State state) {
                 if (gauge) gauge->Set(state == CircuitBreaker::State::kClosed ? 0 : 1);
               }),
      limiter_(options.max_concurrent,
               [gauge = metrics.in_flight ? &metrics.in_flight->With({backend_}) : nullptr](size_t in_use) {
                 if (gauge) gauge->Set(static_cast<double>(in_use));
               }) {
  // Create the series up front so that dashboards see zeros, not gaps.
  if (metrics_.circuit_open) metrics_.circuit_open->With({backend_}).Set(0);
  if (metrics_.in_flight) metrics_.in_flight->With({backend_}).Set(0);
}

void ResilientCaller::CountError(const std::string& reason) {
  if (metrics_.errors) metrics_.errors->With({backend_, reason}).Add();
}

Status ResilientCaller::Finish(Status status, const char* outcome, Clock::time_point start) {
  if (metrics_.seconds) {
    std::chrono::duration<double> elapsed = Clock::now() - start;
    metrics_.seconds->With({backend_, outcome}).Observe(elapsed.count());
  }
  return status;
}

asio::awaitable<Status> ResilientCaller::Run(Clock::time_point deadline, TryFn try_fn) {
  const Clock::time_point start = Clock::now();
  if (start >= deadline) {
    CountError("timeout");
    co_return Finish(DeadlineExceeded(backend_ + ": deadline passed before the call"), "timeout", start);
  }
  Result<ConcurrencyLimiter::Permit> permit = co_await limiter_.Acquire(deadline);
  if (!permit.ok()) {
    CountError("timeout");
    co_return Finish(DeadlineExceeded(backend_ + ": " + permit.status().message()), "timeout", start);
  }
  for (int tries = 1;; ++tries) {
    if (!breaker_.Allow()) {
      CountError("circuit_open");
      co_return Finish(Unavailable(backend_ + ": circuit open after repeated upstream failures; not calling it"),
                       "rejected", start);
    }
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      // Nothing was sent, so nothing to record; an unused half-open probe is
      // replaced after another cool-down (CircuitBreaker::Allow).
      CountError("timeout");
      co_return Finish(DeadlineExceeded(fmt::format("{}: deadline passed after {} tries", backend_, tries - 1)),
                       "timeout", start);
    }
    TryOutcome outcome = co_await try_fn(std::min(options_.per_try_timeout, left));
    if (outcome.status.ok()) {
      breaker_.RecordSuccess();
      co_return Finish(Status::OK(), "ok", start);
    }
    CountError(outcome.reason);
    if (outcome.upstream_failure) {
      breaker_.RecordFailure();
    } else {
      breaker_.RecordSuccess();
    }
    bool retryable = !outcome.committed &&
                     (outcome.retryable ||
                      (options_.retry.retry_timeouts && outcome.status.code() == StatusCode::kDeadlineExceeded));
    left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    std::optional<milliseconds> delay = retry_.NextDelay(tries, retryable, outcome.retry_after, left);
    if (!delay) {
      Status last = outcome.status;
      if (tries > 1) last = Status(last.code(), fmt::format("after {} tries: {}", tries, last.message()));
      co_return Finish(last, OutcomeOf(last), start);
    }
    asio::steady_timer timer(co_await asio::this_coro::executor, *delay);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace lathe::net
