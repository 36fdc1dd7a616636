#include "rag/answer/conversation_store.h"

#include <algorithm>

#include "common/random_id.h"

namespace lathe::rag {

Result<std::string> ConversationStore::Create(const std::string& tenant, const std::string& collection, int64_t now) {
  std::string id = "conv_" + RandomHex(12);
  LATHE_ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO conversations (id, tenant, collection, created_at, "
                                               "expires_at) VALUES (?, ?, ?, ?, ?)"));
  st.Bind(1, id).Bind(2, tenant).Bind(3, collection).Bind(4, now).Bind(5, now + ttl_seconds_);
  LATHE_RETURN_IF_ERROR(st.Run());
  return id;
}

Result<Conversation> ConversationStore::Get(const std::string& id, const std::string& tenant, int64_t now,
                                            size_t max_turns) {
  LATHE_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT tenant, collection, created_at, expires_at FROM conversations "
                                              "WHERE id = ?"));
  q.Bind(1, id);
  bool found = q.Step();
  LATHE_RETURN_IF_ERROR(q.status());
  if (!found || q.Text(0) != tenant || q.Int(3) <= now) {
    return NotFound("conversation '" + id + "' does not exist or has expired");
  }
  Conversation c;
  c.id = id;
  c.tenant = q.Text(0);
  c.collection = q.Text(1);
  c.created_at = q.Int(2);
  c.expires_at = q.Int(3);
  LATHE_ASSIGN_OR_RETURN(auto t, db_->Prepare("SELECT user_message, query, answer, citations, abstained, created_at "
                                              "FROM turns WHERE conversation_id = ? ORDER BY id DESC LIMIT ?"));
  t.Bind(1, id).Bind(2, static_cast<int64_t>(max_turns));
  while (t.Step()) {
    c.turns.push_back({t.Text(0), t.Text(1), t.Text(2), t.Text(3), t.Int(4) != 0, t.Int(5)});
  }
  LATHE_RETURN_IF_ERROR(t.status());
  std::reverse(c.turns.begin(), c.turns.end());
  return c;
}

Status ConversationStore::AppendTurns(std::vector<NewTurn*>& turns, int64_t now) {
  if (turns.empty()) return Status::OK();
  storage::Transaction tx(db_);
  LATHE_RETURN_IF_ERROR(tx.status());
  LATHE_ASSIGN_OR_RETURN(auto create, db_->Prepare("INSERT INTO conversations (id, tenant, collection, created_at, "
                                                   "expires_at) VALUES (?, ?, ?, ?, ?)"));
  LATHE_ASSIGN_OR_RETURN(auto insert, db_->Prepare("INSERT INTO turns (conversation_id, user_message, query, answer, "
                                                   "citations, abstained, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  LATHE_ASSIGN_OR_RETURN(auto extend, db_->Prepare("UPDATE conversations SET expires_at = ? WHERE id = ?"));
  for (NewTurn* t : turns) {
    if (t->id.empty()) {
      t->id = "conv_" + RandomHex(12);
      create.Bind(1, t->id).Bind(2, t->tenant).Bind(3, t->collection).Bind(4, now).Bind(5, now + ttl_seconds_);
      LATHE_RETURN_IF_ERROR(create.Run());
      create.Reset();
    } else {
      extend.Bind(1, now + ttl_seconds_).Bind(2, t->id);
      LATHE_RETURN_IF_ERROR(extend.Run());
      extend.Reset();
      if (db_->Changes() == 0) {
        t->status = NotFound("conversation '" + t->id + "' does not exist or has expired");
        continue;
      }
    }
    t->status = Status::OK();
    const StoredTurn& turn = t->turn;
    insert.Bind(1, t->id).Bind(2, turn.user).Bind(3, turn.query).Bind(4, turn.answer).Bind(5, turn.citations_json);
    insert.Bind(6, static_cast<int64_t>(turn.abstained ? 1 : 0)).Bind(7, now);
    LATHE_RETURN_IF_ERROR(insert.Run());
    insert.Reset();
  }
  return tx.Commit();
}

Result<int64_t> ConversationStore::PurgeExpired(int64_t now) {
  LATHE_ASSIGN_OR_RETURN(auto st, db_->Prepare("DELETE FROM conversations WHERE expires_at <= ?"));
  st.Bind(1, now);
  LATHE_RETURN_IF_ERROR(st.Run());
  LATHE_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT changes()"));
  q.Step();
  return q.Int(0);
}

Result<Handoff> ConversationStore::RequestHandoff(const std::string& conversation_id, const std::string& tenant,
                                                 const std::string& note, int64_t now) {
  LATHE_ASSIGN_OR_RETURN(Conversation c, Get(conversation_id, tenant, now, 0));
  Handoff h{"ho_" + RandomHex(8), c.id, tenant, c.collection, note, "open", now};
  LATHE_ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO handoffs (handoff_id, conversation_id, tenant, collection, "
                                               "note, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  st.Bind(1, h.handoff_id).Bind(2, h.conversation_id).Bind(3, h.tenant).Bind(4, h.collection).Bind(5, h.note);
  st.Bind(6, h.status).Bind(7, h.created_at);
  LATHE_RETURN_IF_ERROR(st.Run());
  return h;
}

Result<std::vector<Handoff>> ConversationStore::ListHandoffs(const std::string& tenant, size_t limit) {
  LATHE_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT handoff_id, conversation_id, tenant, collection, note, status, "
                                              "created_at FROM handoffs WHERE tenant = ? ORDER BY id DESC LIMIT ?"));
  q.Bind(1, tenant).Bind(2, static_cast<int64_t>(limit));
  std::vector<Handoff> out;
  while (q.Step()) out.push_back({q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5), q.Int(6)});
  LATHE_RETURN_IF_ERROR(q.status());
  return out;
}

}  // namespace lathe::rag
