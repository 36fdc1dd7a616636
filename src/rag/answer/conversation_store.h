// ConversationStore: the assistant's conversations and their turns in the
// catalog's SQLite database, with a time-to-live refreshed by each turn.
// Expired conversations read as absent and are purged by PurgeExpired. Not
// thread-safe (like the SqliteDb it wraps): callers serialise access.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/sqlite_db.h"

namespace lathe::rag {

struct StoredTurn {
  std::string user;            // the message as sent
  std::string query;           // the standalone query it was answered with
  std::string answer;
  std::string citations_json;  // JSON array as returned to the client
  bool abstained = false;
  int64_t created_at = 0;      // unix seconds
};

struct Conversation {
  std::string id;
  std::string tenant;
  std::string collection;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  std::vector<StoredTurn> turns;  // oldest first
};

// A request to hand a conversation over to a person (the "talk to a person"
// action after the assistant abstained).
struct Handoff {
  std::string handoff_id;  // "ho_" + 16 hex characters
  std::string conversation_id;
  std::string tenant;
  std::string collection;
  std::string note;
  std::string status;  // "open"
  int64_t created_at = 0;
};

class ConversationStore {
 public:
  // db must outlive the store.
  ConversationStore(storage::SqliteDb* db, int64_t ttl_seconds) : db_(db), ttl_seconds_(ttl_seconds) {}

  // A new conversation ("conv_" + 24 hex characters).
  Result<std::string> Create(const std::string& tenant, const std::string& collection, int64_t now);
  // NotFound when the id is unknown, expired, or belongs to another tenant
  // (indistinguishable on purpose). At most the last max_turns turns.
  Result<Conversation> Get(const std::string& id, const std::string& tenant, int64_t now, size_t max_turns = 1000);
  // Many turns in one transaction (one fsync): each NewTurn with an empty id
  // starts a new conversation and gets its id; the others are appended to
  // theirs, or get status NotFound when theirs has meanwhile been purged
  // (the rest are stored all the same). A database error fails them all and
  // stores none.
  struct NewTurn {
    std::string id;  // empty: create a conversation for tenant and collection
    std::string tenant;
    std::string collection;
    StoredTurn turn;
    Status status;  // set by AppendTurns
  };
  Status AppendTurns(std::vector<NewTurn*>& turns, int64_t now);
  // Records a hand-off request for the tenant's live conversation. NotFound
  // as for Get.
  Result<Handoff> RequestHandoff(const std::string& conversation_id, const std::string& tenant,
                                 const std::string& note, int64_t now);
  // The tenant's hand-off requests, newest first, at most limit.
  Result<std::vector<Handoff>> ListHandoffs(const std::string& tenant, size_t limit);
  // Deletes expired conversations; returns how many.
  Result<int64_t> PurgeExpired(int64_t now);

 private:
  storage::SqliteDb* db_;
  int64_t ttl_seconds_;
};

}  // namespace lathe::rag
