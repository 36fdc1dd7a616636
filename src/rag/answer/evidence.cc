#include "rag/answer/evidence.h"

#include <algorithm>
#include <set>

namespace lathe::rag {

float EvidenceScore(const Bm25Index& bm25, const text::Analyzer& analyzer, const std::vector<std::string>& query_terms,
                    const std::vector<Passage>& passages, size_t top) {
  std::set<std::string> unique(query_terms.begin(), query_terms.end());
  double total = 0;
  for (const auto& t : unique) total += bm25.Idf(t);
  if (total <= 0 || passages.empty()) return 0;
  float best = 0;
  for (size_t i = 0; i < std::min(top, passages.size()); ++i) {
    std::vector<std::string> terms = analyzer.Analyze(passages[i].title + "\n" + passages[i].text);
    std::set<std::string> present(terms.begin(), terms.end());
    double covered = 0;
    for (const auto& t : unique) {
      if (present.count(t)) covered += bm25.Idf(t);
    }
    best = std::max(best, static_cast<float>(covered / total));
  }
  return best;
}

}  // namespace lathe::rag
