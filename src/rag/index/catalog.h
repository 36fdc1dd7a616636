// Catalog: the source of truth for the knowledge base: collections, documents
// and their chunks (text, title, embedding), in SQLite under the data directory.
// Every write bumps the collection's generation, which index snapshots record to
// detect staleness. Not thread-safe: use one Catalog per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/sqlite_db.h"

namespace lathe::rag {

struct CollectionInfo {
  int64_t id = 0;
  std::string name;
  std::string tenant;
  int64_t generation = 0;
  std::string embedder;  // id of the embedder that produced stored vectors
  int64_t documents = 0;
  int64_t chunks = 0;
};

struct DocumentInfo {
  std::string doc_id;  // user-visible id: BEIR _id or path relative to the ingest root
  std::string title;
  std::string source;  // file path it came from
  std::string format;  // md, html, txt, pdf, jsonl
  std::string content_hash;
  std::string metadata_json = "{}";
  int64_t chunks = 0;
  std::string ingested_at;  // ISO-8601 UTC
};

struct ChunkRecord {
  int64_t id = 0;  // stable chunk id (index key)
  std::string doc_id;
  int ordinal = 0;
  std::string title;
  std::string text;
  std::vector<float> embedding;  // empty when not loaded
};

struct ChunkDetail {
  ChunkRecord chunk;  // without its embedding
  std::string document_title;
};

struct NewDocument {
  DocumentInfo info;
  std::vector<ChunkRecord> chunks;  // id ignored; assigned on insert
};

class Catalog {
 public:
  // Opens or creates <data_dir>/lathe.db and applies migrations.
  static Result<std::unique_ptr<Catalog>> Open(const std::string& data_dir);

  // Returns the collection, creating it when missing (an existing collection
  // keeps its tenant).
  Result<CollectionInfo> EnsureCollection(const std::string& name, const std::string& tenant);

  // Records which embedder produced the collection's stored vectors.
  Status SetCollectionEmbedder(int64_t collection_id, const std::string& embedder);

  // Replaces stored vectors (dim floats each) of the given chunks and records
  // the embedder, in one transaction. Does not change the generation.
  Status UpdateEmbeddings(int64_t collection_id, const std::string& embedder,
                          const std::vector<std::pair<int64_t, const float*>>& vectors, int dim);
  // NotFound when no such collection.
  Result<CollectionInfo> GetCollection(const std::string& name);
  Result<std::vector<CollectionInfo>> ListCollections();

  // Content hash of a stored document, or nullopt when absent.
  Result<std::optional<std::string>> DocumentHash(int64_t collection_id, const std::string& doc_id);

  // In one transaction: replaces each document (old chunks removed) and bumps
  // the generation. On success each NewDocument's chunk ids are filled in and
  // the removed chunk ids are appended to removed_chunk_ids.
  Status ReplaceDocuments(int64_t collection_id, std::vector<NewDocument>* docs,
                          std::vector<int64_t>* removed_chunk_ids);

  // Removes a document and its chunks. NotFound when absent.
  Status DeleteDocument(int64_t collection_id, const std::string& doc_id,
                        std::vector<int64_t>* removed_chunk_ids);

  Result<std::vector<DocumentInfo>> ListDocuments(int64_t collection_id);

  // Calls fn for every chunk of the collection in id order, with embeddings.
  Status ScanChunks(int64_t collection_id, const std::function<void(ChunkRecord&&)>& fn);

  // Chunks by id, without embeddings, in the order asked; missing ids skipped.
  Result<std::vector<ChunkRecord>> GetChunks(const std::vector<int64_t>& ids);
  // One chunk of the collection with its document's title; nullopt when the
  // collection has no such chunk.
  Result<std::optional<ChunkDetail>> GetChunkDetail(int64_t collection_id, int64_t chunk_id);

  // Runs SQLite's integrity and foreign-key checks; Corruption when they fail.
  Status CheckConsistency();

  storage::SqliteDb* db() { return db_.get(); }
  ~Catalog();

 private:
  struct WriteStatements;
  explicit Catalog(std::unique_ptr<storage::SqliteDb> db);
  Status Migrate();
  // The statements of ReplaceDocuments, prepared on first use and kept for
  // the next batches (an ingest commits thousands).
  Result<WriteStatements*> Writes();
  std::unique_ptr<storage::SqliteDb> db_;
  std::unique_ptr<WriteStatements> writes_;
  // GetChunks's statement, kept: the server looks chunks up on every request.
  std::unique_ptr<storage::Statement> chunk_by_id_;
};

}  // namespace lathe::rag
