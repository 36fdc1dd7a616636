// TurnWriter: group commit for conversation turns. Every chat stores its turn
// before it answers (an acknowledged turn is never lost), and the catalog
// commits with a full fsync; one transaction per chat would cap the server at
// a few hundred chats a second. Append queues the turn and suspends the
// calling coroutine; one CPU-pool worker at a time writes everything queued in
// one transaction, then resumes each caller on its own executor with its
// conversation id. Under load a commit carries many turns; alone, a turn is
// committed at once. Thread-safe.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "net/metrics.h"
#include "rag/answer/conversation_store.h"

namespace lathe::app {

class TurnWriter {
 public:
  // write(batch) stores a batch (ConversationStore::AppendTurns under the
  // caller's lock); it runs on pool. metrics may be null.
  using WriteFn = std::function<Status(std::vector<rag::ConversationStore::NewTurn*>&)>;
  TurnWriter(boost::asio::thread_pool* pool, WriteFn write, net::MetricsRegistry* metrics);

  // Stores turn; the conversation id (a new one when turn.id is empty), or
  // the error that kept it from being stored.
  boost::asio::awaitable<Result<std::string>> Append(rag::ConversationStore::NewTurn turn);

 private:
  struct Item {
    rag::ConversationStore::NewTurn turn;
    std::function<void(Status, std::string)> done;  // posts to the caller's executor
  };
  void Enqueue(std::unique_ptr<Item> item);
  void Drain();  // on the pool, while items are queued

  template <typename Handler>
  void Initiate(Handler handler, rag::ConversationStore::NewTurn* turn) {
    auto ex = boost::asio::get_associated_executor(handler);
    auto h = std::make_shared<Handler>(std::move(handler));
    auto item = std::make_unique<Item>();
    item->turn = std::move(*turn);
    item->done = [ex, h](Status st, std::string id) {
      boost::asio::post(ex, [h, st = std::move(st), id = std::move(id)]() mutable { (*h)(std::move(st), std::move(id)); });
    };
    Enqueue(std::move(item));
  }

  boost::asio::thread_pool* const pool_;
  const WriteFn write_;
  net::Histogram* batch_sizes_ = nullptr;

  std::mutex mu_;
  std::deque<std::unique_ptr<Item>> queue_;  // guarded by mu_
  bool writing_ = false;                     // a Drain is running or posted; guarded by mu_
};

}  // namespace lathe::app
