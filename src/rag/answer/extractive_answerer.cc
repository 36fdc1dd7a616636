#include "rag/answer/extractive_answerer.h"

#include <algorithm>
#include <map>
#include <set>

#include "rag/answer/evidence.h"
#include "text/sentence_splitter.h"

namespace lathe::rag {

Answer ExtractiveAnswerer::Compose(const std::vector<std::string>& query_terms,
                                   const std::vector<Passage>& passages) const {
  QueryCoverage coverage(*bm25_, query_terms);
  Answer answer;
  if (!coverage.has_weight()) return answer;

  struct Candidate {
    size_t passage;
    size_t position;
    std::string sentence;
    double score;
  };
  std::vector<Candidate> candidates;
  for (size_t p = 0; p < std::min(options_.passages, passages.size()); ++p) {
    std::vector<std::string> sentences = text::SplitSentences(passages[p].text);
    for (size_t s = 0; s < sentences.size(); ++s) {
      std::vector<std::string> terms = analyzer_->Analyze(sentences[s]);
      double covered = coverage.Of(terms);
      if (covered <= 0 || terms.size() < 3) continue;
      // Coverage first; a higher-ranked passage and an earlier sentence break ties.
      double score = covered + 0.05 / static_cast<double>(p + 1) - 0.001 * static_cast<double>(s);
      candidates.push_back({p, s, sentences[s], score});
    }
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.score > b.score;
  });
  std::vector<Candidate> chosen;
  std::map<size_t, size_t> per_passage;
  std::set<std::string> seen;
  for (const auto& c : candidates) {
    if (chosen.size() >= options_.max_sentences) break;
    // Below half the best sentence's coverage a sentence adds more noise than answer.
    if (!chosen.empty() && c.score < 0.5 * chosen.front().score) break;
    if (per_passage[c.passage] >= options_.max_per_passage || !seen.insert(c.sentence).second) continue;
    ++per_passage[c.passage];
    chosen.push_back(c);
  }
  // Read in the order of the evidence: passage rank, then position.
  std::vector<Candidate> ordered = chosen;
  std::sort(ordered.begin(), ordered.end(), [](const Candidate& a, const Candidate& b) {
    return a.passage != b.passage ? a.passage < b.passage : a.position < b.position;
  });
  std::set<int> cited;
  for (const auto& c : ordered) {
    const Passage& p = passages[c.passage];
    if (!answer.text.empty()) answer.text += " ";
    answer.text += c.sentence + " [" + std::to_string(p.n) + "]";
    if (cited.insert(p.n).second) {
      // Quote the passage's best sentence (the first chosen in score order).
      std::string quote = c.sentence;
      for (const auto& best : chosen) {
        if (best.passage == c.passage) {
          quote = best.sentence;
          break;
        }
      }
      answer.citations.push_back({p.n, p.chunk_id, p.doc_id, p.title, quote});
    }
  }
  return answer;
}

}  // namespace lathe::rag
