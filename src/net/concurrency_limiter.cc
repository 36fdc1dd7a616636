#include "net/concurrency_limiter.h"

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>

namespace lathe::net {

namespace asio = boost::asio;

// One waiting Acquire. The releaser hands over its slot by setting `granted`
// (under the limiter's lock) and waking the waiter through the channel, which,
// unlike a timer, may be signalled from any thread.
struct ConcurrencyLimiter::Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : wake(ex, 1) {}
  asio::experimental::concurrent_channel<void(boost::system::error_code)> wake;
  bool granted = false;  // guarded by the limiter's mu_
};

ConcurrencyLimiter::Permit& ConcurrencyLimiter::Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = other.limiter_;
    other.limiter_ = nullptr;
  }
  return *this;
}

void ConcurrencyLimiter::Permit::Release() {
  if (limiter_ != nullptr) limiter_->ReleaseSlot();
  limiter_ = nullptr;
}

ConcurrencyLimiter::ConcurrencyLimiter(size_t max_concurrent, std::function<void(size_t)> on_change)
    : max_(std::max<size_t>(1, max_concurrent)), on_change_(std::move(on_change)) {}

ConcurrencyLimiter::~ConcurrencyLimiter() = default;

asio::awaitable<Result<ConcurrencyLimiter::Permit>> ConcurrencyLimiter::Acquire(
    std::chrono::steady_clock::time_point deadline) {
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  std::shared_ptr<Waiter> waiter;
  {
    std::lock_guard lock(mu_);
    if (in_use_ < max_ && waiters_.empty()) {
      ++in_use_;
      if (on_change_) on_change_(in_use_);
    } else {
      waiter = std::make_shared<Waiter>(ex);
      waiters_.push_back(waiter);
    }
  }
  if (!waiter) co_return Permit(this);

  if (std::chrono::steady_clock::now() < deadline) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(ex, deadline);
    try {
      co_await (waiter->wake.async_receive(asio::use_awaitable) || timer.async_wait(asio::use_awaitable));
    } catch (const std::exception&) {
      // Cancelled or torn down: whether we own a slot is decided below.
    }
  }
  std::lock_guard lock(mu_);
  // A slot granted just as the deadline passed is still ours to use.
  if (waiter->granted) co_return Permit(this);
  waiters_.erase(std::find(waiters_.begin(), waiters_.end(), waiter));
  co_return DeadlineExceeded("no free upstream slot before the deadline (" + std::to_string(max_) +
                             " calls in flight)");
}

void ConcurrencyLimiter::ReleaseSlot() {
  std::lock_guard lock(mu_);
  if (!waiters_.empty()) {
    std::shared_ptr<Waiter> next = std::move(waiters_.front());
    waiters_.pop_front();
    next->granted = true;  // the slot moves over; in_use_ is unchanged
    next->wake.try_send(boost::system::error_code());
    return;
  }
  --in_use_;
  if (on_change_) on_change_(in_use_);
}

size_t ConcurrencyLimiter::in_use() const {
  std::lock_guard lock(mu_);
  return in_use_;
}

size_t ConcurrencyLimiter::waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

}  // namespace lathe::net
