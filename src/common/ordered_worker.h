// OrderedWorker: runs tasks one at a time, in the order they were submitted,
// on a thread of its own. At most `depth` tasks wait their turn: Submit blocks
// beyond that, which bounds what the queued tasks hold in memory. The ingester
// uses it to keep the in-memory index following the catalog, batch by batch,
// while the committing thread moves on. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace lathe {

class OrderedWorker {
 public:
  explicit OrderedWorker(size_t depth);
  // Runs what is queued, then stops the thread.
  ~OrderedWorker();
  OrderedWorker(const OrderedWorker&) = delete;
  OrderedWorker& operator=(const OrderedWorker&) = delete;

  void Submit(std::function<void()> task);
  // Blocks until every task submitted so far has run; then rethrows the first
  // exception a task threw since the last Drain, if any (later tasks still ran).
  void Drain();

 private:
  void Run();

  const size_t depth_;
  std::mutex mu_;
  std::condition_variable ready_, space_, idle_;
  std::deque<std::function<void()>> queue_;
  bool busy_ = false;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace lathe
