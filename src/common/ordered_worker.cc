#include "common/ordered_worker.h"

#include <utility>

namespace lathe {

OrderedWorker::OrderedWorker(size_t depth) : depth_(depth == 0 ? 1 : depth), thread_([this] { Run(); }) {}

OrderedWorker::~OrderedWorker() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
    stop_ = true;
  }
  ready_.notify_all();
  thread_.join();
}

void OrderedWorker::Submit(std::function<void()> task) {
  std::unique_lock<std::mutex> lock(mu_);
  space_.wait(lock, [&] { return queue_.size() < depth_; });
  queue_.push_back(std::move(task));
  ready_.notify_one();
}

void OrderedWorker::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void OrderedWorker::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ready_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    space_.notify_one();
    lock.unlock();
    std::exception_ptr error;
    try {
      task();
    } catch (...) {
      error = std::current_exception();
    }
    task = nullptr;  // release what the task held before reporting it done
    lock.lock();
    if (error && !error_) error_ = error;
    busy_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

}  // namespace lathe
