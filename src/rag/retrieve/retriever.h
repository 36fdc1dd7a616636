// Retriever: answers a query from one CollectionIndex with BM25, vectors, or
// both fused. In hybrid mode the vector branch (query embedding + ANN search)
// runs on the CPU pool while BM25 runs on the caller, and the two rankings are
// fused (weighted reciprocal-rank fusion by default). Filters are applied inside
// both searches. Const and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/cpu_pool.h"
#include "rag/index/collection_index.h"

namespace lathe::rag {

enum class RetrieverKind { kBm25, kVector, kHybrid };
const char* RetrieverName(RetrieverKind kind);
// "bm25" | "vector" | "hybrid"; InvalidArgument otherwise.
Result<RetrieverKind> ParseRetriever(const std::string& name);

struct FusionOptions {
  enum class Method { kRrf, kWeighted } method = Method::kRrf;
  float rrf_k = 60.0f;
  float bm25_weight = 1.0f;    // RRF weight of the BM25 ranking
  float vector_weight = 0.5f;  // RRF weight of the vector ranking
  float alpha = 0.7f;          // kWeighted: share of min-max-normalised BM25 score
};

struct RetrieveOptions {
  RetrieverKind kind = RetrieverKind::kHybrid;
  size_t k = 10;
  size_t candidates = 100;          // per-branch depth before fusion
  bool one_per_document = false;    // keep only each document's best chunk
  const uint8_t* allowed = nullptr; // filter bitmap from CollectionIndex::MakeFilter
  FusionOptions fusion;
};

struct Hit {
  int64_t chunk_id = 0;
  std::string doc_id;
  float score = 0;
  int bm25_rank = 0;  // 1-based; 0 when absent from that branch
  float bm25_score = 0;
  int vector_rank = 0;
  float vector_score = 0;
};

class Retriever {
 public:
  // index and pool must outlive the retriever; pool may be null (sequential).
  Retriever(const CollectionIndex* index, CpuPool* pool) : index_(index), pool_(pool) {}

  // Best hits first, at most options.k.
  std::vector<Hit> Search(const std::string& query, const RetrieveOptions& options) const;

 private:
  std::vector<ScoredSlot> SearchVector(const std::string& query, size_t depth, const uint8_t* allowed) const;
  const CollectionIndex* index_;
  CpuPool* pool_;
};

}  // namespace lathe::rag
