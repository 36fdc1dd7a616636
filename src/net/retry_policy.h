// RetryPolicy: when and how long to wait before retrying an upstream call.
// Exponential backoff with full jitter (before retry r = 1, 2, ... a
// uniformly random wait in [0, min(max_backoff, base_backoff * 2^(r-1))]), a
// cap on tries, and the
// server's Retry-After honoured when it fits before the caller's deadline.
// Which outcomes are retryable is decided here too: connection failures,
// resets, HTTP 429 and 5xx. Thread-safe (the random source is locked).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>

namespace lathe::net {

struct RetryOptions {
  int max_tries = 3;  // tries in all, the first included; 1 = no retries
  std::chrono::milliseconds base_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
  // A try that timed out (DeadlineExceeded) is retried only when this is set:
  // an upstream that hangs is more often overloaded than unlucky.
  bool retry_timeouts = false;
};

class RetryPolicy {
 public:
  explicit RetryPolicy(RetryOptions options, uint64_t seed = std::random_device{}());

  const RetryOptions& options() const { return options_; }

  // True for HTTP statuses worth another try: 429, 500, 502, 503, 504 (and
  // other 5xx except 501 Not Implemented and 505 Version Not Supported).
  static bool IsRetryableStatus(int http_status);

  // Parses a Retry-After value: delta-seconds ("2") or an HTTP-date relative
  // to now. nullopt when empty or unparsable; zero for dates in the past.
  static std::optional<std::chrono::milliseconds> ParseRetryAfter(
      std::string_view value, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

  // The jittered wait before retry number `retry` (1 = the first retry).
  std::chrono::milliseconds Backoff(int retry);

  // The wait before the next try, or nullopt to give up: after tries_made
  // tries the outcome was `retryable`; retry_after is the server's wish (if
  // any); time_left is what remains of the caller's deadline. Gives up when
  // the outcome is final, tries are used up, or the wait would not leave time
  // for another try.
  std::optional<std::chrono::milliseconds> NextDelay(int tries_made, bool retryable,
                                                     std::optional<std::chrono::milliseconds> retry_after,
                                                     std::chrono::milliseconds time_left);

 private:
  const RetryOptions options_;
  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
};

}  // namespace lathe::net
