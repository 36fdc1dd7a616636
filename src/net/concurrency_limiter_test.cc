#include "net/concurrency_limiter.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

namespace lathe::net {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

TEST(ConcurrencyLimiter, CapsConcurrentHoldersAcrossThreads) {
  asio::io_context io;
  ConcurrencyLimiter limiter(3);
  std::atomic<int> holding{0}, peak{0}, done{0};
  for (int i = 0; i < 40; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          Result<ConcurrencyLimiter::Permit> permit = co_await limiter.Acquire(Clock::now() + std::chrono::seconds(5));
          EXPECT_TRUE(permit.ok());
          int now = ++holding;
          int seen = peak.load();
          while (now > seen && !peak.compare_exchange_weak(seen, now)) {
          }
          asio::steady_timer timer(co_await asio::this_coro::executor, milliseconds(5));
          co_await timer.async_wait(asio::use_awaitable);
          --holding;
          ++done;
        },
        asio::detached);
  }
  std::thread helper([&] { io.run(); });
  io.run();
  helper.join();
  EXPECT_EQ(done.load(), 40);
  EXPECT_EQ(peak.load(), 3);
  EXPECT_EQ(limiter.in_use(), 0u);
}

TEST(ConcurrencyLimiter, WaiterGivesUpAtItsDeadline) {
  asio::io_context io;
  ConcurrencyLimiter limiter(1);
  Status second;
  Clock::duration waited{};
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        Result<ConcurrencyLimiter::Permit> first = co_await limiter.Acquire(Clock::now() + milliseconds(100));
        EXPECT_TRUE(first.ok());
        auto start = Clock::now();
        Result<ConcurrencyLimiter::Permit> other = co_await limiter.Acquire(Clock::now() + milliseconds(50));
        waited = Clock::now() - start;
        second = other.status();
      },
      asio::detached);
  io.run();
  EXPECT_EQ(second.code(), StatusCode::kDeadlineExceeded);
  EXPECT_GE(waited, milliseconds(45));
  EXPECT_EQ(limiter.waiting(), 0u);
  EXPECT_EQ(limiter.in_use(), 0u);
}

}  // namespace
}  // namespace lathe::net
