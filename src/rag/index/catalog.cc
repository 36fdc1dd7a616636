#include "rag/index/catalog.h"

#include <cstring>

#include "common/clock.h"
#include "common/file_util.h"

namespace lathe::rag {
namespace {

constexpr int kSchemaVersion = 3;

// Migration i takes the schema from version i to i+1.
const char* kMigrations[] = {
    R"sql(
CREATE TABLE collections (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL DEFAULT '',
  embedder TEXT NOT NULL DEFAULT '',
  generation INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE TABLE documents (
  id INTEGER PRIMARY KEY,
  collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  doc_id TEXT NOT NULL,
  title TEXT NOT NULL,
  source TEXT NOT NULL,
  format TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  ingested_at TEXT NOT NULL,
  UNIQUE (collection_id, doc_id)
);
CREATE TABLE chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  collection_id INTEGER NOT NULL,
  ordinal INTEGER NOT NULL,
  title TEXT NOT NULL,
  text TEXT NOT NULL,
  embedding BLOB
);
CREATE INDEX chunks_by_document ON chunks(document_id);
CREATE INDEX chunks_by_collection ON chunks(collection_id, id);
)sql",
    // 2: the assistant's conversations and API keys (issue 3).
    R"sql(
CREATE TABLE conversations (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  collection TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX conversations_by_expiry ON conversations(expires_at);
CREATE TABLE turns (
  id INTEGER PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  user_message TEXT NOT NULL,
  query TEXT NOT NULL,
  answer TEXT NOT NULL,
  citations TEXT NOT NULL,
  abstained INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX turns_by_conversation ON turns(conversation_id, id);
CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY,
  key_id TEXT NOT NULL UNIQUE,
  secret_hash TEXT NOT NULL,
  tenant TEXT NOT NULL,
  scope TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
)sql",
    // 3: requests to hand a conversation over to a person (issue 7).
    R"sql(
CREATE TABLE handoffs (
  id INTEGER PRIMARY KEY,
  handoff_id TEXT NOT NULL UNIQUE,
  conversation_id TEXT NOT NULL,
  tenant TEXT NOT NULL,
  collection TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'open',
  created_at INTEGER NOT NULL
);
CREATE INDEX handoffs_by_tenant ON handoffs(tenant, id);
)sql",
};

Status BumpGeneration(storage::SqliteDb* db, int64_t collection_id) {
  LATHE_ASSIGN_OR_RETURN(auto st, db->Prepare("UPDATE collections SET generation = generation + 1 WHERE id = ?"));
  st.Bind(1, collection_id);
  return st.Run();
}

// Statements for removing a document, prepared once per transaction.
struct RemoveStatements {
  storage::Statement chunk_ids;
  storage::Statement remove;
  storage::Statement changes;
  static Result<RemoveStatements> Prepare(storage::SqliteDb* db) {
    RemoveStatements s;
    LATHE_ASSIGN_OR_RETURN(s.chunk_ids, db->Prepare(
        "SELECT c.id FROM chunks c JOIN documents d ON c.document_id = d.id "
        "WHERE d.collection_id = ? AND d.doc_id = ?"));
    LATHE_ASSIGN_OR_RETURN(s.remove, db->Prepare("DELETE FROM documents WHERE collection_id = ? AND doc_id = ?"));
    LATHE_ASSIGN_OR_RETURN(s.changes, db->Prepare("SELECT changes()"));
    return s;
  }
};

Status RemoveDocumentRows(RemoveStatements* st, int64_t collection_id, const std::string& doc_id,
                          std::vector<int64_t>* removed, bool* found) {
  st->chunk_ids.Reset();
  st->chunk_ids.Bind(1, collection_id).Bind(2, doc_id);
  while (st->chunk_ids.Step()) removed->push_back(st->chunk_ids.Int(0));
  LATHE_RETURN_IF_ERROR(st->chunk_ids.status());
  st->remove.Reset();
  st->remove.Bind(1, collection_id).Bind(2, doc_id);
  LATHE_RETURN_IF_ERROR(st->remove.Run());
  st->changes.Reset();
  *found = st->changes.Step() && st->changes.Int(0) > 0;
  Status status = st->changes.status();
  st->changes.Reset();  // the statements are kept: leave none mid-result
  return status;
}

}  // namespace

struct Catalog::WriteStatements {
  storage::Statement insert_document;
  storage::Statement insert_chunk;
  storage::Statement bump_generation;
  RemoveStatements remove;
};

Catalog::Catalog(std::unique_ptr<storage::SqliteDb> db) : db_(std::move(db)) {}
Catalog::~Catalog() = default;

Result<Catalog::WriteStatements*> Catalog::Writes() {
  if (writes_) return writes_.get();
  auto w = std::make_unique<WriteStatements>();
  LATHE_ASSIGN_OR_RETURN(w->insert_document, db_->Prepare(
      "INSERT INTO documents (collection_id, doc_id, title, source, format, content_hash, metadata, ingested_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  LATHE_ASSIGN_OR_RETURN(w->insert_chunk, db_->Prepare(
      "INSERT INTO chunks (document_id, collection_id, ordinal, title, text, embedding) VALUES (?, ?, ?, ?, ?, ?)"));
  LATHE_ASSIGN_OR_RETURN(w->bump_generation,
                         db_->Prepare("UPDATE collections SET generation = generation + 1 WHERE id = ?"));
  LATHE_ASSIGN_OR_RETURN(w->remove, RemoveStatements::Prepare(db_.get()));
  writes_ = std::move(w);
  return writes_.get();
}

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& data_dir) {
  LATHE_RETURN_IF_ERROR(EnsureDirectory(data_dir));
  LATHE_ASSIGN_OR_RETURN(auto db, storage::SqliteDb::Open(data_dir + "/lathe.db"));
  std::unique_ptr<Catalog> catalog(new Catalog(std::move(db)));
  LATHE_RETURN_IF_ERROR(catalog->Migrate());
  return catalog;
}

Status Catalog::Migrate() {
  LATHE_RETURN_IF_ERROR(db_->Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  LATHE_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT version FROM schema_version"));
  int version = q.Step() ? static_cast<int>(q.Int(0)) : 0;
  LATHE_RETURN_IF_ERROR(q.status());
  if (version > kSchemaVersion) {
    return FailedPrecondition(db_->path() + ": schema version " + std::to_string(version) +
                              " is newer than this build understands (" + std::to_string(kSchemaVersion) + ")");
  }
  for (int v = version; v < kSchemaVersion; ++v) {
    storage::Transaction tx(db_.get());
    LATHE_RETURN_IF_ERROR(tx.status());
    LATHE_RETURN_IF_ERROR(db_->Exec(kMigrations[v]));
    LATHE_RETURN_IF_ERROR(db_->Exec("DELETE FROM schema_version"));
    LATHE_RETURN_IF_ERROR(db_->Exec("INSERT INTO schema_version VALUES (" + std::to_string(v + 1) + ")"));
    LATHE_RETURN_IF_ERROR(tx.Commit());
  }
  return Status::OK();
}

namespace {
const char* kCollectionSelect =
    "SELECT c.id, c.name, c.tenant, c.generation, c.embedder, "
    "(SELECT COUNT(*) FROM documents d WHERE d.collection_id = c.id), "
    "(SELECT COUNT(*) FROM chunks k WHERE k.collection_id = c.id) FROM collections c ";

CollectionInfo ReadCollection(const storage::Statement& q) {
  CollectionInfo c;
  c.id = q.Int(0);
  c.name = q.Text(1);
  c.tenant = q.Text(2);
  c.generation = q.Int(3);
  c.embedder = q.Text(4);
  c.documents = q.Int(5);
  c.chunks = q.Int(6);
  return c;
}
}  // namespace

Result<CollectionInfo> Catalog::GetCollection(const std::string& name) {
  LATHE_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string(kCollectionSelect) + "WHERE c.name = ?"));
  q.Bind(1, name);
  if (!q.Step()) {
    LATHE_RETURN_IF_ERROR(q.status());
    return NotFound("collection '" + name + "' does not exist");
  }
  return ReadCollection(q);
}

Result<std::vector<CollectionInfo>> Catalog::ListCollections() {
  LATHE_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string(kCollectionSelect) + "ORDER BY c.name"));
  std::vector<CollectionInfo> out;
  while (q.Step()) out.push_back(ReadCollection(q));
  LATHE_RETURN_IF_ERROR(q.status());
  return out;
}

Result<CollectionInfo> Catalog::EnsureCollection(const std::string& name, const std::string& tenant) {
  if (name.empty() || name.size() > 128) {
    return InvalidArgument("collection name must be 1 to 128 characters");
  }
  auto existing = GetCollection(name);
  if (existing.ok() || existing.status().code() != StatusCode::kNotFound) return existing;
  LATHE_ASSIGN_OR_RETURN(auto ins, db_->Prepare(
      "INSERT INTO collections (name, tenant, embedder, created_at) VALUES (?, ?, '', ?)"));
  ins.Bind(1, name).Bind(2, tenant).Bind(3, NowIso());
  LATHE_RETURN_IF_ERROR(ins.Run());
  return GetCollection(name);
}

Status Catalog::SetCollectionEmbedder(int64_t collection_id, const std::string& embedder) {
  LATHE_ASSIGN_OR_RETURN(auto u, db_->Prepare("UPDATE collections SET embedder = ? WHERE id = ?"));
  u.Bind(1, embedder).Bind(2, collection_id);
  return u.Run();
}

Status Catalog::UpdateEmbeddings(int64_t collection_id, const std::string& embedder,
                                 const std::vector<std::pair<int64_t, const float*>>& vectors, int dim) {
  storage::Transaction tx(db_.get());
  LATHE_RETURN_IF_ERROR(tx.status());
  LATHE_ASSIGN_OR_RETURN(auto u, db_->Prepare("UPDATE chunks SET embedding = ? WHERE id = ? AND collection_id = ?"));
  for (const auto& [id, v] : vectors) {
    u.Reset();
    u.BindBlob(1, v, sizeof(float) * static_cast<size_t>(dim)).Bind(2, id).Bind(3, collection_id);
    LATHE_RETURN_IF_ERROR(u.Run());
  }
  LATHE_RETURN_IF_ERROR(SetCollectionEmbedder(collection_id, embedder));
  return tx.Commit();
}

Result<std::optional<std::string>> Catalog::DocumentHash(int64_t collection_id, const std::string& doc_id) {
  LATHE_ASSIGN_OR_RETURN(auto q, db_->Prepare(
      "SELECT content_hash FROM documents WHERE collection_id = ? AND doc_id = ?"));
  q.Bind(1, collection_id).Bind(2, doc_id);
  if (q.Step()) return std::optional<std::string>(q.Text(0));
  LATHE_RETURN_IF_ERROR(q.status());
  return std::optional<std::string>();
}

Status Catalog::ReplaceDocuments(int64_t collection_id, std::vector<NewDocument>* docs,
                                 std::vector<int64_t>* removed_chunk_ids) {
  LATHE_ASSIGN_OR_RETURN(WriteStatements * w, Writes());
  storage::Transaction tx(db_.get());
  LATHE_RETURN_IF_ERROR(tx.status());
  std::string now = NowIso();
  // Text and vectors are bound without copies (BindStatic): the documents
  // outlive each statement's run, which ends with a Reset.
  for (NewDocument& doc : *docs) {
    bool found = false;
    LATHE_RETURN_IF_ERROR(RemoveDocumentRows(&w->remove, collection_id, doc.info.doc_id, removed_chunk_ids, &found));
    doc.info.ingested_at = now;
    storage::Statement& ins_doc = w->insert_document;
    ins_doc.Reset();
    ins_doc.Bind(1, collection_id).BindStatic(2, doc.info.doc_id).BindStatic(3, doc.info.title)
        .BindStatic(4, doc.info.source).BindStatic(5, doc.info.format).BindStatic(6, doc.info.content_hash)
        .BindStatic(7, doc.info.metadata_json).BindStatic(8, now);
    Status st = ins_doc.Run();
    ins_doc.Reset();
    LATHE_RETURN_IF_ERROR(st);
    int64_t document_row = db_->LastInsertId();
    int ordinal = 0;
    for (ChunkRecord& chunk : doc.chunks) {
      storage::Statement& ins_chunk = w->insert_chunk;
      ins_chunk.Reset();
      ins_chunk.Bind(1, document_row).Bind(2, collection_id).Bind(3, static_cast<int64_t>(ordinal))
          .BindStatic(4, chunk.title).BindStatic(5, chunk.text);
      if (chunk.embedding.empty()) {
        ins_chunk.BindNull(6);
      } else {
        ins_chunk.BindBlobStatic(6, chunk.embedding.data(), chunk.embedding.size() * sizeof(float));
      }
      st = ins_chunk.Run();
      ins_chunk.Reset();
      LATHE_RETURN_IF_ERROR(st);
      chunk.id = db_->LastInsertId();
      chunk.ordinal = ordinal++;
      chunk.doc_id = doc.info.doc_id;
    }
    doc.info.chunks = static_cast<int64_t>(doc.chunks.size());
  }
  w->bump_generation.Reset();
  w->bump_generation.Bind(1, collection_id);
  LATHE_RETURN_IF_ERROR(w->bump_generation.Run());
  return tx.Commit();
}

Status Catalog::DeleteDocument(int64_t collection_id, const std::string& doc_id,
                               std::vector<int64_t>* removed_chunk_ids) {
  storage::Transaction tx(db_.get());
  LATHE_RETURN_IF_ERROR(tx.status());
  bool found = false;
  LATHE_ASSIGN_OR_RETURN(RemoveStatements remove, RemoveStatements::Prepare(db_.get()));
  LATHE_RETURN_IF_ERROR(RemoveDocumentRows(&remove, collection_id, doc_id, removed_chunk_ids, &found));
  if (!found) return NotFound("document '" + doc_id + "' does not exist");
  LATHE_RETURN_IF_ERROR(BumpGeneration(db_.get(), collection_id));
  return tx.Commit();
}

Result<std::vector<DocumentInfo>> Catalog::ListDocuments(int64_t collection_id) {
  LATHE_ASSIGN_OR_RETURN(auto q, db_->Prepare(
      "SELECT d.doc_id, d.title, d.source, d.format, d.content_hash, d.metadata, d.ingested_at, "
      "(SELECT COUNT(*) FROM chunks c WHERE c.document_id = d.id) "
      "FROM documents d WHERE d.collection_id = ? ORDER BY d.doc_id"));
  q.Bind(1, collection_id);
  std::vector<DocumentInfo> out;
  while (q.Step()) {
    DocumentInfo d;
    d.doc_id = q.Text(0);
    d.title = q.Text(1);
    d.source = q.Text(2);
    d.format = q.Text(3);
    d.content_hash = q.Text(4);
    d.metadata_json = q.Text(5);
    d.ingested_at = q.Text(6);
    d.chunks = q.Int(7);
    out.push_back(std::move(d));
  }
  LATHE_RETURN_IF_ERROR(q.status());
  return out;
}

Status Catalog::ScanChunks(int64_t collection_id, const std::function<void(ChunkRecord&&)>& fn) {
  LATHE_ASSIGN_OR_RETURN(auto q, db_->Prepare(
      "SELECT c.id, d.doc_id, c.ordinal, c.title, c.text, c.embedding FROM chunks c "
      "JOIN documents d ON c.document_id = d.id WHERE c.collection_id = ? ORDER BY c.id"));
  q.Bind(1, collection_id);
  while (q.Step()) {
    ChunkRecord r;
    r.id = q.Int(0);
    r.doc_id = q.Text(1);
    r.ordinal = static_cast<int>(q.Int(2));
    r.title = q.Text(3);
    r.text = q.Text(4);
    std::string_view blob = q.Blob(5);
    if (blob.size() % sizeof(float) != 0) {
      return Corruption("chunk " + std::to_string(r.id) + ": embedding blob of " +
                        std::to_string(blob.size()) + " bytes is not a float array");
    }
    r.embedding.resize(blob.size() / sizeof(float));
    if (!blob.empty()) std::memcpy(r.embedding.data(), blob.data(), blob.size());
    fn(std::move(r));
  }
  return q.status();
}

Result<std::vector<ChunkRecord>> Catalog::GetChunks(const std::vector<int64_t>& ids) {
  if (!chunk_by_id_) {
    LATHE_ASSIGN_OR_RETURN(auto prepared, db_->Prepare(
        "SELECT c.id, d.doc_id, c.ordinal, c.title, c.text FROM chunks c "
        "JOIN documents d ON c.document_id = d.id WHERE c.id = ?"));
    chunk_by_id_ = std::make_unique<storage::Statement>(std::move(prepared));
  }
  storage::Statement& q = *chunk_by_id_;
  std::vector<ChunkRecord> out;
  for (int64_t id : ids) {
    q.Reset();
    q.Bind(1, id);
    if (q.Step()) {
      ChunkRecord r;
      r.id = q.Int(0);
      r.doc_id = q.Text(1);
      r.ordinal = static_cast<int>(q.Int(2));
      r.title = q.Text(3);
      r.text = q.Text(4);
      out.push_back(std::move(r));
    }
    LATHE_RETURN_IF_ERROR(q.status());
  }
  q.Reset();  // a statement left mid-result would hold its read snapshot open
  return out;
}

Result<std::optional<ChunkDetail>> Catalog::GetChunkDetail(int64_t collection_id, int64_t chunk_id) {
  LATHE_ASSIGN_OR_RETURN(auto q, db_->Prepare(
      "SELECT c.id, d.doc_id, c.ordinal, c.title, c.text, d.title FROM chunks c "
      "JOIN documents d ON c.document_id = d.id WHERE c.id = ? AND d.collection_id = ?"));
  q.Bind(1, chunk_id).Bind(2, collection_id);
  std::optional<ChunkDetail> out;
  if (q.Step()) {
    ChunkDetail d;
    d.chunk.id = q.Int(0);
    d.chunk.doc_id = q.Text(1);
    d.chunk.ordinal = static_cast<int>(q.Int(2));
    d.chunk.title = q.Text(3);
    d.chunk.text = q.Text(4);
    d.document_title = q.Text(5);
    out = std::move(d);
  }
  LATHE_RETURN_IF_ERROR(q.status());
  return out;
}

Status Catalog::CheckConsistency() {
  LATHE_ASSIGN_OR_RETURN(auto q, db_->Prepare("PRAGMA integrity_check"));
  if (q.Step() && q.Text(0) != "ok") return Corruption(db_->path() + ": integrity check: " + q.Text(0));
  LATHE_RETURN_IF_ERROR(q.status());
  LATHE_ASSIGN_OR_RETURN(auto fk, db_->Prepare("PRAGMA foreign_key_check"));
  if (fk.Step()) return Corruption(db_->path() + ": foreign key check failed on table " + fk.Text(0));
  LATHE_ASSIGN_OR_RETURN(auto orphan, db_->Prepare(
      "SELECT COUNT(*) FROM chunks c LEFT JOIN documents d ON c.document_id = d.id WHERE d.id IS NULL"));
  if (orphan.Step() && orphan.Int(0) > 0) return Corruption(db_->path() + ": chunks without a document");
  return fk.status();
}

}  // namespace lathe::rag
