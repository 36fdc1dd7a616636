// Ingester: files and folders in, searchable chunks out. Expands paths, reads
// and parses files, chunks, analyses and embeds on all cores, then commits
// documents to the Catalog in batches (a committed batch is durable and
// reported through on_commit) and updates the collection's index. Unchanged
// documents (same content hash and settings) are skipped. A collection whose
// embedder is trained (LSA) gets its model from the first ingest's chunks. Not thread-safe:
// one Ingest call at a time per Catalog.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/cpu_pool.h"
#include "common/status.h"
#include "rag/embed/embedder_store.h"
#include "rag/index/catalog.h"
#include "rag/index/collection_index.h"
#include "rag/ingest/chunker.h"

namespace lathe::rag {

struct IngestOptions {
  std::string collection = "default";
  std::string tenant = "default";
  ChunkerOptions chunker;
  size_t batch_size = 64;                     // documents per catalog transaction
  uint64_t max_file_bytes = 64ull << 20;      // larger files are refused
};

struct IngestReport {
  size_t files = 0;        // files considered
  size_t added = 0;        // new documents
  size_t updated = 0;      // changed documents replaced
  size_t unchanged = 0;    // skipped by content hash
  size_t failed = 0;       // files or JSONL lines refused
  size_t chunks = 0;       // chunks written
  bool ok() const { return added + updated + unchanged > 0; }
};

class Ingester {
 public:
  // All pointers must outlive the Ingester; pool may not be null.
  Ingester(Catalog* catalog, std::string data_dir, EmbedderStore* embedders, IndexOptions index_options,
           CpuPool* pool)
      : catalog_(catalog), data_dir_(std::move(data_dir)), embedders_(embedders),
        index_options_(index_options), pool_(pool) {}

  // on_error(source, reason) is called for every refused file or line;
  // on_commit(doc_ids) after each durable batch. Fails only on catalog or
  // index errors; bad input is reported and skipped.
  Result<IngestReport> Ingest(const std::vector<std::string>& paths, const IngestOptions& options,
                              const std::function<void(const std::string&, const std::string&)>& on_error,
                              const std::function<void(const std::vector<std::string>&)>& on_commit = nullptr);

  // Removes a document from the catalog and the index snapshot. NotFound if absent.
  Status Delete(const std::string& collection, const std::string& doc_id);

 private:
  Catalog* catalog_;
  std::string data_dir_;
  EmbedderStore* embedders_;
  IndexOptions index_options_;
  CpuPool* pool_;
};

}  // namespace lathe::rag
