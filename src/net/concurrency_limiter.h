// ConcurrencyLimiter: an asynchronous counting semaphore that caps how many
// upstream calls are in flight. Waiting for a slot is a coroutine that gives
// up at a deadline; slots are handed to waiters first come, first served.
// Thread-safe: Acquire and Permit release may happen on any thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "common/status.h"

namespace lathe::net {

class ConcurrencyLimiter {
 public:
  // A held slot; returned to the limiter when destroyed (or on Release()).
  // The limiter must outlive its permits.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& other) noexcept : limiter_(other.limiter_) { other.limiter_ = nullptr; }
    Permit& operator=(Permit&& other) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { Release(); }
    void Release();
    bool held() const { return limiter_ != nullptr; }

   private:
    friend class ConcurrencyLimiter;
    explicit Permit(ConcurrencyLimiter* limiter) : limiter_(limiter) {}
    ConcurrencyLimiter* limiter_ = nullptr;
  };

  // on_change, if set, is called with the number of slots in use after each
  // change (under the limiter's lock: keep it quick, e.g. a gauge update).
  explicit ConcurrencyLimiter(size_t max_concurrent, std::function<void(size_t)> on_change = nullptr);
  ~ConcurrencyLimiter();

  // Waits for a free slot until deadline. DeadlineExceeded when none came
  // free in time. Runs on the calling coroutine's executor.
  boost::asio::awaitable<Result<Permit>> Acquire(std::chrono::steady_clock::time_point deadline);

  size_t max_concurrent() const { return max_; }
  size_t in_use() const;
  size_t waiting() const;

 private:
  struct Waiter;
  void ReleaseSlot();

  const size_t max_;
  const std::function<void(size_t)> on_change_;
  mutable std::mutex mu_;
  size_t in_use_ = 0;                             // guarded by mu_
  std::deque<std::shared_ptr<Waiter>> waiters_;  // guarded by mu_
};

}  // namespace lathe::net
