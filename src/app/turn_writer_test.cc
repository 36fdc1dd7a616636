// TurnWriter and ConversationStore::AppendTurns on a real catalog: turns
// queued while a commit runs go out together in the next one, every caller
// gets its own conversation id, a turn for a purged conversation fails alone,
// and a failed commit fails every turn in it.
#include "app/turn_writer.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <set>
#include <thread>

#include "rag/index/catalog.h"
#include "test_util.h"

namespace lathe::app {
namespace {

namespace asio = boost::asio;
using rag::ConversationStore;

struct Fixture {
  test::TempDir dir;
  std::unique_ptr<rag::Catalog> catalog = rag::Catalog::Open(dir.path()).value();
  ConversationStore store{catalog->db(), 3600};
  std::mutex db_mu;
};

ConversationStore::NewTurn Turn(const std::string& id, const std::string& message) {
  ConversationStore::NewTurn t;
  t.id = id;
  t.tenant = "acme";
  t.collection = "support";
  t.turn.user = message;
  t.turn.query = message;
  t.turn.answer = "answer to " + message;
  t.turn.citations_json = "[]";
  return t;
}

TEST(ConversationStore, AppendTurnsCreatesAppendsAndSkipsPurged) {
  Fixture f;
  auto existing = f.store.Create("acme", "support", 1000).value();
  std::vector<ConversationStore::NewTurn> turns = {Turn("", "first"), Turn(existing, "second"),
                                                   Turn("conv_000000000000000000000000", "lost")};
  std::vector<ConversationStore::NewTurn*> ptrs = {&turns[0], &turns[1], &turns[2]};
  ASSERT_TRUE(f.store.AppendTurns(ptrs, 1001).ok());
  EXPECT_TRUE(turns[0].status.ok());
  EXPECT_EQ(turns[0].id.rfind("conv_", 0), 0u);
  EXPECT_TRUE(turns[1].status.ok());
  EXPECT_EQ(turns[2].status.code(), StatusCode::kNotFound);

  auto created = f.store.Get(turns[0].id, "acme", 1002).value();
  ASSERT_EQ(created.turns.size(), 1u);
  EXPECT_EQ(created.turns[0].user, "first");
  EXPECT_EQ(created.expires_at, 1001 + 3600);
  auto appended = f.store.Get(existing, "acme", 1002).value();
  ASSERT_EQ(appended.turns.size(), 1u);
  EXPECT_EQ(appended.turns[0].answer, "answer to second");
  EXPECT_EQ(appended.expires_at, 1001 + 3600);  // its life was extended
  EXPECT_FALSE(f.store.Get(turns[0].id, "globex", 1002).ok());  // tenants stay apart
}

// Runs n Append calls at once on an I/O thread; returns their results.
std::vector<Result<std::string>> AppendAll(TurnWriter* writer, int n) {
  asio::io_context io;
  std::vector<std::optional<Result<std::string>>> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(
        io,
        [writer, &out, i]() -> asio::awaitable<void> {
          out[static_cast<size_t>(i)].emplace(co_await writer->Append(Turn("", "question " + std::to_string(i))));
        },
        asio::detached);
  }
  io.run();
  std::vector<Result<std::string>> results;
  for (auto& r : out) results.push_back(std::move(*r));
  return results;
}

TEST(TurnWriter, TurnsQueuedDuringACommitShareTheNext) {
  Fixture f;
  asio::thread_pool pool(2);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::vector<size_t> commits;
  TurnWriter writer(
      &pool,
      [&](std::vector<ConversationStore::NewTurn*>& turns) {
        {
          // The first commit waits until every caller has queued its turn.
          std::unique_lock lock(mu);
          commits.push_back(turns.size());
          if (commits.size() == 1) cv.wait(lock, [&] { return release; });
        }
        std::lock_guard lock(f.db_mu);
        return f.store.AppendTurns(turns, 5000);
      },
      nullptr);
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::lock_guard lock(mu);
    release = true;
    cv.notify_all();
  });
  auto results = AppendAll(&writer, 200);
  releaser.join();
  std::set<std::string> ids;
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ids.insert(r.value());
  }
  EXPECT_EQ(ids.size(), 200u);  // every caller its own conversation
  // The first commit took what was queued when it started (all 200 if the
  // pool was slow to start); everything queued while it was held went out in
  // one more.
  ASSERT_GE(commits.size(), 1u);
  ASSERT_LE(commits.size(), 2u);
  EXPECT_EQ(commits[0] + (commits.size() == 2 ? commits[1] : 0), 200u);
  for (const auto& id : ids) {
    auto c = f.store.Get(id, "acme", 5001);
    ASSERT_TRUE(c.ok()) << id;
    EXPECT_EQ(c->turns.size(), 1u);
  }
}

TEST(TurnWriter, AFailedCommitFailsEveryTurnInIt) {
  Fixture f;
  asio::thread_pool pool(1);
  TurnWriter writer(
      &pool, [](std::vector<ConversationStore::NewTurn*>&) { return IOError("disk full"); }, nullptr);
  for (auto& r : AppendAll(&writer, 5)) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), "disk full");
  }
}

}  // namespace
}  // namespace lathe::app
