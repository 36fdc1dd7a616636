// Tests for CpuPool: ParallelFor coverage for many shapes, single-thread pools, Post.
#include "common/cpu_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace lathe {
namespace {

// Runs ParallelFor and returns how often each index was visited.
std::vector<int> VisitCounts(CpuPool* pool, size_t n, size_t grain) {
  std::unique_ptr<std::atomic<int>[]> counts(new std::atomic<int>[n + 1]);
  for (size_t i = 0; i <= n; ++i) counts[i] = 0;
  std::atomic<bool> out_of_range{false};
  pool->ParallelFor(
      n,
      [&](size_t i) {
        if (i >= n) {
          out_of_range = true;
          return;
        }
        counts[i].fetch_add(1);
      },
      grain);
  EXPECT_FALSE(out_of_range.load()) << "n=" << n << " grain=" << grain;
  std::vector<int> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = counts[i].load();
  return out;
}

TEST(CpuPool, ParallelForVisitsEachIndexExactlyOnce) {
  for (size_t threads : {1u, 2u, 4u}) {
    CpuPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (size_t n : {0u, 1u, 2u, 7u, 64u, 1000u, 4099u}) {
      for (size_t grain : {1u, 3u, 16u, 1000u, 5000u}) {
        std::vector<int> counts = VisitCounts(&pool, n, grain);
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(counts[i], 1) << "threads=" << threads << " n=" << n << " grain=" << grain << " i=" << i;
        }
      }
    }
  }
}

TEST(CpuPool, PoolOfOneRunsEverythingAndReturns) {
  CpuPool pool(1);
  std::vector<int> counts = VisitCounts(&pool, 500, 7);
  for (int c : counts) ASSERT_EQ(c, 1);
  // A pool of one still accepts posted work after ParallelFor.
  std::promise<int> done;
  pool.Post([&] { done.set_value(42); });
  std::future<int> f = done.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(f.get(), 42);
}

TEST(CpuPool, ParallelForReturnsOnlyAfterAllWorkFinished) {
  CpuPool pool(4);
  std::atomic<int> finished{0};
  pool.ParallelFor(
      16,
      [&](size_t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        finished.fetch_add(1);
      },
      1);
  EXPECT_EQ(finished.load(), 16);
}

TEST(CpuPool, ParallelForUsesSeveralThreadsWhenAvailable) {
  CpuPool pool(4);
  std::mutex mu;
  std::set<std::thread::id> ids;
  pool.ParallelFor(
      64,
      [&](size_t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::lock_guard<std::mutex> lock(mu);
        ids.insert(std::this_thread::get_id());
      },
      1);
  EXPECT_GE(ids.size(), 2u);
}

TEST(CpuPool, ZeroThreadsMeansHardwareThreads) {
  CpuPool pool(0);
  EXPECT_EQ(pool.size(), HardwareThreads());
  EXPECT_GE(HardwareThreads(), 1u);
}

}  // namespace
}  // namespace lathe

namespace lathe {
namespace {

TEST(CpuPool, ParallelForAsyncRunsOnWorkersWhileTheCallerContinues) {
  CpuPool pool(2);
  std::vector<std::atomic<int>> visits(1000);
  std::atomic<int> on_caller{0};
  const auto caller = std::this_thread::get_id();
  std::future<void> done = pool.ParallelForAsync(visits.size(), [&](size_t i) {
    visits[i].fetch_add(1);
    if (std::this_thread::get_id() == caller) on_caller.fetch_add(1);
  });
  done.get();
  for (auto& v : visits) EXPECT_EQ(v.load(), 1);
  EXPECT_EQ(on_caller.load(), 0);  // the caller only waited
  std::future<void> empty = pool.ParallelForAsync(0, [](size_t) { FAIL() << "no index to visit"; });
  EXPECT_EQ(empty.wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

}  // namespace
}  // namespace lathe
