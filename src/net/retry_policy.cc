#include "net/retry_policy.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <string>

namespace lathe::net {

RetryPolicy::RetryPolicy(RetryOptions options, uint64_t seed) : options_(options), rng_(seed) {}

bool RetryPolicy::IsRetryableStatus(int http_status) {
  if (http_status == 429) return true;
  return http_status >= 500 && http_status <= 599 && http_status != 501 && http_status != 505;
}

std::optional<std::chrono::milliseconds> RetryPolicy::ParseRetryAfter(std::string_view value,
                                                                      std::chrono::system_clock::time_point now) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (value.size() > 9) return std::nullopt;  // over 30 years: nonsense
    return std::chrono::seconds(std::stol(std::string(value)));
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  if (when <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
}

std::chrono::milliseconds RetryPolicy::Backoff(int retry) {
  int64_t cap = options_.max_backoff.count();
  int64_t ceiling = options_.base_backoff.count();
  for (int i = 1; i < retry && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  if (ceiling <= 0) return std::chrono::milliseconds(0);
  std::lock_guard lock(mu_);
  return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, ceiling)(rng_));
}

std::optional<std::chrono::milliseconds> RetryPolicy::NextDelay(int tries_made, bool retryable,
                                                                std::optional<std::chrono::milliseconds> retry_after,
                                                                std::chrono::milliseconds time_left) {
  if (!retryable || tries_made >= options_.max_tries) return std::nullopt;
  std::chrono::milliseconds delay = retry_after ? *retry_after : Backoff(tries_made);
  // Waiting until (or past) the deadline would only turn this error into a timeout.
  if (delay >= time_left) return std::nullopt;
  return delay;
}

}  // namespace lathe::net
