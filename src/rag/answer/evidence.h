// Evidence: how well the retrieved passages cover a question, as the share of
// the question's information (idf-weighted distinct terms) found in the best
// passage. The abstention rule compares it with a calibrated threshold
// (docs/answering.md). Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "rag/answer/answer.h"
#include "rag/index/bm25_index.h"
#include "rag/index/collection_index.h"
#include "text/analyzer.h"

namespace lathe::rag {

// The idf-weighted share of a query's distinct terms that a text contains.
// Idf values are looked up once, at construction. Const; thread-safe.
class QueryCoverage {
 public:
  QueryCoverage(const Bm25Index& bm25, const std::vector<std::string>& query_terms);
  // False when the query has no terms (every coverage is then 0).
  bool has_weight() const { return total_ > 0; }
  // In [0, 1] for the analysed terms of a text.
  double Of(const std::vector<std::string>& text_terms) const;
  // The same for the chunk in a slot of bm25, from its postings (no analysis).
  double OfSlot(const Bm25Index& bm25, uint32_t slot) const;

 private:
  std::vector<std::pair<std::string, double>> weights_;  // distinct query term -> idf
  double total_ = 0;
};

// In [0, 1]: max over the first `top` passages of
// sum(idf of query terms in the passage) / sum(idf of all query terms).
// 0 when the query has no terms or there are no passages.
float EvidenceScore(const Bm25Index& bm25, const text::Analyzer& analyzer, const std::vector<std::string>& query_terms,
                    const std::vector<Passage>& passages, size_t top = 3);
// The same score for passages of index's chunks, read from the BM25 postings
// instead of analysing the passages again (a passage whose chunk is no longer
// indexed is analysed).
float EvidenceScore(const CollectionIndex& index, const std::vector<std::string>& query_terms,
                    const std::vector<Passage>& passages, size_t top = 3);

}  // namespace lathe::rag
