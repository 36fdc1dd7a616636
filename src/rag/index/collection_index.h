// CollectionIndex: the in-memory search structures of one collection — a slot
// table (slot -> chunk id, document id), a Bm25Index and a VectorIndex that
// share slots. Derived from the Catalog: Load() uses the snapshot file when it
// matches the catalog's generation and settings, otherwise rebuilds from the
// catalog (logging why) and writes a fresh snapshot. Search methods are const
// and thread-safe; Add/Remove/Save need exclusive access.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/cpu_pool.h"
#include "common/status.h"
#include "rag/embed/embedder.h"
#include "rag/index/bm25_index.h"
#include "rag/index/catalog.h"
#include "rag/index/vector_index.h"
#include "text/analyzer.h"

namespace lathe::rag {

struct IndexOptions {
  Bm25Params bm25;
  VectorIndexOptions vector;
};

// Per-chunk analysis shared by ingestion and rebuilds.
struct AnalyzedChunk {
  std::vector<std::string> title_terms;
  std::vector<std::string> body_terms;
};
AnalyzedChunk AnalyzeChunk(const text::Analyzer& analyzer, const std::string& title, const std::string& text);

class CollectionIndex {
 public:
  // 2: vectors stored once; the IVF index as centroids and each slot's list.
  static constexpr uint32_t kSnapshotVersion = 2;

  // Snapshot path for a collection id under data_dir.
  static std::string SnapshotPath(const std::string& data_dir, int64_t collection_id);

  // See the file comment. pool may be null.
  static Result<std::unique_ptr<CollectionIndex>> Load(Catalog* catalog, const CollectionInfo& collection,
                                                       const std::string& data_dir,
                                                       std::shared_ptr<const Embedder> embedder,
                                                       const IndexOptions& options, CpuPool* pool);

  // Builds from the catalog's chunks, ignoring any snapshot. Chunks whose
  // stored vectors came from another embedder are re-embedded, and the new
  // vectors are written back to the catalog.
  static Result<std::unique_ptr<CollectionIndex>> Rebuild(Catalog* catalog, const CollectionInfo& collection,
                                                          std::shared_ptr<const Embedder> embedder,
                                                          const IndexOptions& options, CpuPool* pool);

  // Adds one chunk; embedding has embedder->dim() floats.
  void Add(int64_t chunk_id, const std::string& doc_id, const AnalyzedChunk& terms, const float* embedding);
  // Removes a chunk; unknown ids are ignored.
  void Remove(int64_t chunk_id);
  // Finishes a batch of changes (may build the vector index's IVF cells).
  void Optimize() { vectors_.Optimize(); }

  // Renumbers slots to drop removed chunks when more than a quarter of the
  // slots are dead (after updates and deletes); cheap: no re-analysis.
  void CompactIfWasteful();

  // Writes the snapshot for the given catalog generation. FailedPrecondition
  // (nothing written) when vectors_missing().
  Status Save(const std::string& data_dir, int64_t collection_id, int64_t generation) const;
  // Rebuild could not embed some chunks (the embedder failed): they have zero
  // vectors here and none in the catalog, and no snapshot is written, so the
  // next load embeds them again.
  bool vectors_missing() const { return vectors_missing_; }

  // A filter bitmap (one byte per slot) allowing live chunks whose document
  // satisfies pred.
  std::vector<uint8_t> MakeFilter(const std::function<bool(const std::string& doc_id)>& pred) const;

  const Bm25Index& bm25() const { return bm25_; }
  const VectorIndex& vectors() const { return vectors_; }
  int64_t chunk_id(uint32_t slot) const { return slot_chunk_[slot]; }
  // The slot of a live chunk, or -1.
  int64_t slot_of(int64_t chunk_id) const {
    auto it = chunk_slot_.find(chunk_id);
    return it == chunk_slot_.end() ? -1 : static_cast<int64_t>(it->second);
  }
  const std::string& doc_id(uint32_t slot) const { return slot_doc_[slot]; }
  size_t live_chunks() const { return bm25_.live(); }
  const Embedder* embedder() const { return embedder_.get(); }
  const text::Analyzer& analyzer() const { return analyzer_; }
  bool loaded_from_snapshot() const { return loaded_from_snapshot_; }

 private:
  CollectionIndex(std::shared_ptr<const Embedder> embedder, const IndexOptions& options);
  std::string SettingsKey() const;
  Status Deserialize(const std::string& payload);

  std::shared_ptr<const Embedder> embedder_;
  IndexOptions options_;
  text::Analyzer analyzer_;
  Bm25Index bm25_;
  VectorIndex vectors_;
  std::vector<int64_t> slot_chunk_;
  std::vector<std::string> slot_doc_;
  std::unordered_map<int64_t, uint32_t> chunk_slot_;
  bool loaded_from_snapshot_ = false;
  bool vectors_missing_ = false;
};

}  // namespace lathe::rag
