// CpuPool: the process-wide pool of worker threads for CPU-bound work
// (parsing, chunking, embedding, scoring). Built on boost::asio::thread_pool so
// that the async server (later) can post to the same pool. Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <future>
#include <memory>

namespace boost::asio { class thread_pool; }

namespace lathe {

class CpuPool {
 public:
  // threads == 0 means one per hardware core.
  explicit CpuPool(size_t threads = 0);
  ~CpuPool();
  CpuPool(const CpuPool&) = delete;
  CpuPool& operator=(const CpuPool&) = delete;

  size_t size() const { return threads_; }

  // Runs fn(i) for i in [0, n) across the pool and the calling thread;
  // returns when all calls have finished. fn must be thread-safe. Work is
  // handed out in blocks of `grain` indices.
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn, size_t grain = 1);

  // Starts fn(i) for i in [0, n) on the pool's workers only (the caller is free
  // to do other work) and returns a future that is ready when all calls have
  // finished. fn and anything it references must outlive that moment.
  std::future<void> ParallelForAsync(size_t n, std::function<void(size_t)> fn);

  // Posts fn to run on a worker; fire-and-forget.
  void Post(std::function<void()> fn);

  boost::asio::thread_pool& executor_pool() { return *pool_; }

 private:
  size_t threads_;
  std::unique_ptr<boost::asio::thread_pool> pool_;
};

// Number of hardware threads, at least 1.
size_t HardwareThreads();

}  // namespace lathe
