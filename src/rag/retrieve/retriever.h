// Retriever: answers a query from one CollectionIndex with BM25, vectors, or
// both fused. In hybrid mode the query embedding runs on the CPU pool while
// BM25 runs on the caller; the vector search then uses pseudo-relevance
// feedback from BM25's top chunks, and the two are fused by a weighted blend of
// min-max-normalised exact scores (or reciprocal-rank fusion). Filters are
// applied inside both searches. Const and thread-safe.
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
  // Defaults tuned on the SciFact training queries (docs/retrieval.md).
  enum class Method { kRrf, kWeighted } method = Method::kWeighted;
  float rrf_k = 60.0f;
  float bm25_weight = 1.0f;    // RRF weight of the BM25 ranking
  float vector_weight = 0.5f;  // RRF weight of the vector ranking
  float alpha = 0.7f;          // kWeighted: share of min-max-normalised BM25 score
  // Pseudo-relevance feedback in vector space: the query vector is moved
  // towards the mean vector of the top prf_docs BM25 chunks (weight prf_weight).
  size_t prf_docs = 5;
  float prf_weight = 2.0f;
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

  // Search's steps, for callers that run the independent ones concurrently
  // (the server): AnalyzeQuery, then SearchBm25 and EmbedQuery in any order or
  // at once, then Fuse (vector search with feedback, and fusion).
  std::vector<std::string> AnalyzeQuery(const std::string& query) const;
  // Empty for the vector retriever.
  std::vector<ScoredSlot> SearchBm25(const std::vector<std::string>& terms, const RetrieveOptions& options) const;
  // The query's embedding; empty when the embedder failed.
  std::vector<float> EmbedQuery(const std::string& query) const;
  std::vector<Hit> Fuse(const std::vector<std::string>& terms, std::vector<ScoredSlot> bm25, std::vector<float> qvec,
                        const RetrieveOptions& options) const;

 private:
  static size_t Depth(const RetrieveOptions& options);
  const CollectionIndex* index_;
  CpuPool* pool_;
};

}  // namespace lathe::rag
