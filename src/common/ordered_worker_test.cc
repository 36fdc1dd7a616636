// Tests for OrderedWorker: order, the bound on waiting tasks, Drain,
// exceptions, and the destructor running what is queued.
#include "common/ordered_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

namespace lathe {
namespace {

TEST(OrderedWorker, RunsTasksInSubmissionOrderOnOneThread) {
  OrderedWorker worker(4);
  std::vector<int> order;  // touched only by the worker's thread until Drain
  std::vector<std::thread::id> threads;
  for (int i = 0; i < 200; ++i) {
    worker.Submit([&, i] {
      order.push_back(i);
      threads.push_back(std::this_thread::get_id());
    });
  }
  worker.Drain();
  ASSERT_EQ(order.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(order[i], i);
  for (const auto& id : threads) EXPECT_EQ(id, threads.front());
  EXPECT_NE(threads.front(), std::this_thread::get_id());
}

TEST(OrderedWorker, SubmitBlocksWhileDepthTasksWait) {
  OrderedWorker worker(2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> started{0};
  worker.Submit([&] {
    started = 1;
    released.wait();
  });
  while (started.load() == 0) std::this_thread::yield();
  worker.Submit([] {});  // waiting: 1
  worker.Submit([] {});  // waiting: 2 = depth
  std::atomic<bool> third_submitted{false};
  std::thread submitter([&] {
    worker.Submit([] {});
    third_submitted = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(third_submitted.load()) << "Submit returned with the queue full";
  release.set_value();
  submitter.join();
  EXPECT_TRUE(third_submitted.load());
  worker.Drain();
}

TEST(OrderedWorker, DrainRethrowsTheFirstExceptionAndLaterTasksStillRun) {
  OrderedWorker worker(8);
  std::atomic<int> ran{0};
  worker.Submit([] { throw std::runtime_error("first"); });
  worker.Submit([] { throw std::runtime_error("second"); });
  worker.Submit([&] { ++ran; });
  try {
    worker.Drain();
    FAIL() << "Drain did not rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "first");
  }
  EXPECT_EQ(ran.load(), 1);
  worker.Submit([&] { ++ran; });
  EXPECT_NO_THROW(worker.Drain());  // the error was reported once
  EXPECT_EQ(ran.load(), 2);
}

TEST(OrderedWorker, DestructorRunsWhatIsQueued) {
  std::atomic<int> ran{0};
  {
    OrderedWorker worker(64);
    for (int i = 0; i < 50; ++i) {
      worker.Submit([&] {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        ++ran;
      });
    }
  }
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace lathe
