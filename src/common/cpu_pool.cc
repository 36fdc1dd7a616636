#include "common/cpu_pool.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace lathe {

size_t HardwareThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

CpuPool::CpuPool(size_t threads)
    : threads_(threads == 0 ? HardwareThreads() : threads),
      pool_(std::make_unique<boost::asio::thread_pool>(threads_)) {}

CpuPool::~CpuPool() { pool_->join(); }

void CpuPool::Post(std::function<void()> fn) {
  boost::asio::post(*pool_, std::move(fn));
}

std::future<void> CpuPool::ParallelForAsync(size_t n, std::function<void(size_t)> fn) {
  struct State {
    std::function<void(size_t)> fn;
    size_t n;
    std::atomic<size_t> next{0};
    std::atomic<size_t> running{0};
    std::promise<void> done;
  };
  auto state = std::make_shared<State>();
  state->fn = std::move(fn);
  state->n = n;
  std::future<void> future = state->done.get_future();
  size_t workers = std::min(threads_, n);
  if (workers == 0) {
    state->done.set_value();
    return future;
  }
  state->running = workers;
  for (size_t w = 0; w < workers; ++w) {
    boost::asio::post(*pool_, [state] {
      for (size_t i; (i = state->next.fetch_add(1)) < state->n;) state->fn(i);
      if (state->running.fetch_sub(1) == 1) state->done.set_value();
    });
  }
  return future;
}

void CpuPool::ParallelFor(size_t n, const std::function<void(size_t)>& fn, size_t grain) {
  if (n == 0) return;
  if (grain == 0) grain = 1;
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (;;) {
      size_t begin = next.fetch_add(grain);
      if (begin >= n) return;
      size_t end = std::min(n, begin + grain);
      for (size_t i = begin; i < end; ++i) fn(i);
    }
  };
  // The caller is one of the workers, so a pool of size 1 means 1 helper + caller
  // would oversubscribe: use threads_-1 helpers.
  size_t blocks = (n + grain - 1) / grain;
  size_t helpers = std::min(threads_ > 0 ? threads_ - 1 : 0, blocks > 0 ? blocks - 1 : 0);
  std::mutex mu;
  std::condition_variable cv;
  size_t done = 0;
  for (size_t h = 0; h < helpers; ++h) {
    boost::asio::post(*pool_, [&] {
      worker();
      std::lock_guard<std::mutex> lock(mu);
      ++done;
      cv.notify_one();
    });
  }
  worker();
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done == helpers; });
}

}  // namespace lathe
