// ExtractiveAnswerer: the built-in answer backend. Composes an answer from the
// retrieved passages' sentences that best cover the question (idf-weighted
// term overlap, favouring higher-ranked passages), each followed by its
// citation [n]; every quote is a sentence of the cited chunk. Needs no model.
// Const and thread-safe.
#pragma once

#include <string>
#include <vector>

#include "rag/answer/answer.h"
#include "rag/index/bm25_index.h"
#include "text/analyzer.h"

namespace lathe::rag {

struct ExtractiveOptions {
  size_t max_sentences = 3;
  size_t max_per_passage = 2;
  size_t passages = 5;  // only the first passages are read
};

class ExtractiveAnswerer {
 public:
  ExtractiveAnswerer(const Bm25Index* bm25, const text::Analyzer* analyzer, ExtractiveOptions options = {})
      : bm25_(bm25), analyzer_(analyzer), options_(options) {}

  // An answer whose citations all verify. When no sentence shares a term with
  // the question, the answer is empty (the caller abstains).
  Answer Compose(const std::vector<std::string>& query_terms, const std::vector<Passage>& passages) const;

 private:
  const Bm25Index* bm25_;
  const text::Analyzer* analyzer_;
  ExtractiveOptions options_;
};

}  // namespace lathe::rag
