#include "app/turn_writer.h"

namespace lathe::app {

namespace asio = boost::asio;

TurnWriter::TurnWriter(asio::thread_pool* pool, WriteFn write, net::MetricsRegistry* metrics)
    : pool_(pool), write_(std::move(write)) {
  if (metrics != nullptr) {
    batch_sizes_ = &metrics
                        ->AddHistogram("lathe_conversation_commit_turns", "Conversation turns stored per commit",
                                       {}, {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096})
                        ->With({});
  }
}

asio::awaitable<Result<std::string>> TurnWriter::Append(rag::ConversationStore::NewTurn turn) {
  auto [status, id] = co_await asio::async_initiate<decltype(asio::use_awaitable), void(Status, std::string)>(
      [this, &turn](auto handler) { Initiate(std::move(handler), &turn); }, asio::use_awaitable);
  if (!status.ok()) co_return status;
  co_return id;
}

void TurnWriter::Enqueue(std::unique_ptr<Item> item) {
  std::lock_guard lock(mu_);
  queue_.push_back(std::move(item));
  if (!writing_) {
    writing_ = true;
    asio::post(*pool_, [this] { Drain(); });
  }
}

void TurnWriter::Drain() {
  for (;;) {
    std::deque<std::unique_ptr<Item>> batch;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) {
        writing_ = false;
        return;
      }
      batch.swap(queue_);
    }
    std::vector<rag::ConversationStore::NewTurn*> turns;
    turns.reserve(batch.size());
    for (auto& item : batch) turns.push_back(&item->turn);
    Status st = write_(turns);
    if (batch_sizes_ != nullptr) batch_sizes_->Observe(static_cast<double>(turns.size()));
    for (auto& item : batch) {
      if (!st.ok()) {
        item->done(st, "");
      } else {
        item->done(item->turn.status, item->turn.status.ok() ? item->turn.id : "");
      }
    }
  }
}

}  // namespace lathe::app
