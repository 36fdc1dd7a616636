// Retrieval metrics as trec_eval/BEIR define them (linear gain nDCG), and
// latency percentiles. Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace lathe::rag {

// Relevance judgements of one query: doc id -> grade (> 0 means relevant).
using Judgements = std::map<std::string, int>;

struct QueryMetrics {
  double p1 = 0, p5 = 0, p10 = 0, r10 = 0, r100 = 0, ndcg10 = 0, mrr10 = 0;
  double pk = 0, rk = 0, ndcgk = 0;  // at the caller's cut-off k
};

// ranked: document ids best first (no duplicates). Precision at k divides by k
// even when fewer documents were returned.
QueryMetrics ScoreRanking(const std::vector<std::string>& ranked, const Judgements& judged, size_t k = 10);

// nDCG at depth k with gain = grade and log2(rank + 1) discount.
double NdcgAt(const std::vector<std::string>& ranked, const Judgements& judged, size_t k);

// Nearest-rank percentile (p in [0, 100]) of values; 0 for an empty list.
double Percentile(std::vector<double> values, double p);

}  // namespace lathe::rag
