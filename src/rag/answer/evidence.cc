#include "rag/answer/evidence.h"

#include <algorithm>
#include <set>
#include <string_view>

namespace lathe::rag {

QueryCoverage::QueryCoverage(const Bm25Index& bm25, const std::vector<std::string>& query_terms) {
  std::set<std::string> unique(query_terms.begin(), query_terms.end());
  for (const auto& t : unique) {
    double idf = bm25.Idf(t);
    weights_.emplace_back(t, idf);
    total_ += idf;
  }
}

double QueryCoverage::Of(const std::vector<std::string>& text_terms) const {
  if (total_ <= 0) return 0;
  std::set<std::string_view> present(text_terms.begin(), text_terms.end());
  double covered = 0;
  for (const auto& [term, idf] : weights_) {
    if (present.count(term)) covered += idf;
  }
  return covered / total_;
}

double QueryCoverage::OfSlot(const Bm25Index& bm25, uint32_t slot) const {
  if (total_ <= 0) return 0;
  double covered = 0;
  for (const auto& [term, idf] : weights_) {
    if (bm25.Contains(term, slot)) covered += idf;
  }
  return covered / total_;
}

float EvidenceScore(const CollectionIndex& index, const std::vector<std::string>& query_terms,
                    const std::vector<Passage>& passages, size_t top) {
  QueryCoverage coverage(index.bm25(), query_terms);
  float best = 0;
  for (size_t i = 0; i < std::min(top, passages.size()) && coverage.has_weight(); ++i) {
    int64_t slot = index.slot_of(passages[i].chunk_id);
    double c = slot >= 0 ? coverage.OfSlot(index.bm25(), static_cast<uint32_t>(slot))
                         : coverage.Of(index.analyzer().Analyze(passages[i].title + "\n" + passages[i].text));
    best = std::max(best, static_cast<float>(c));
  }
  return best;
}

float EvidenceScore(const Bm25Index& bm25, const text::Analyzer& analyzer, const std::vector<std::string>& query_terms,
                    const std::vector<Passage>& passages, size_t top) {
  QueryCoverage coverage(bm25, query_terms);
  float best = 0;
  for (size_t i = 0; i < std::min(top, passages.size()) && coverage.has_weight(); ++i) {
    std::vector<std::string> terms = analyzer.Analyze(passages[i].title + "\n" + passages[i].text);
    best = std::max(best, static_cast<float>(coverage.Of(terms)));
  }
  return best;
}

}  // namespace lathe::rag
