#include "rag/eval/metrics.h"

#include <algorithm>
#include <cmath>

namespace lathe::rag {
namespace {
int Grade(const Judgements& judged, const std::string& doc) {
  auto it = judged.find(doc);
  return it == judged.end() ? 0 : it->second;
}
}  // namespace

double NdcgAt(const std::vector<std::string>& ranked, const Judgements& judged, size_t k) {
  double dcg = 0;
  for (size_t i = 0; i < ranked.size() && i < k; ++i) {
    int g = Grade(judged, ranked[i]);
    if (g > 0) dcg += g / std::log2(static_cast<double>(i) + 2.0);
  }
  std::vector<int> ideal;
  for (const auto& [doc, g] : judged) {
    if (g > 0) ideal.push_back(g);
  }
  std::sort(ideal.rbegin(), ideal.rend());
  double idcg = 0;
  for (size_t i = 0; i < ideal.size() && i < k; ++i) idcg += ideal[i] / std::log2(static_cast<double>(i) + 2.0);
  return idcg > 0 ? dcg / idcg : 0.0;
}

QueryMetrics ScoreRanking(const std::vector<std::string>& ranked, const Judgements& judged, size_t k) {
  QueryMetrics m;
  size_t relevant_total = 0;
  for (const auto& [doc, g] : judged) relevant_total += g > 0;
  auto hits_at = [&](size_t k) {
    size_t hits = 0;
    for (size_t i = 0; i < ranked.size() && i < k; ++i) hits += Grade(judged, ranked[i]) > 0;
    return static_cast<double>(hits);
  };
  m.p1 = hits_at(1) / 1.0;
  m.p5 = hits_at(5) / 5.0;
  m.p10 = hits_at(10) / 10.0;
  if (relevant_total > 0) {
    m.r10 = hits_at(10) / static_cast<double>(relevant_total);
    m.r100 = hits_at(100) / static_cast<double>(relevant_total);
  }
  m.ndcg10 = NdcgAt(ranked, judged, 10);
  m.pk = k > 0 ? hits_at(k) / static_cast<double>(k) : 0.0;
  m.rk = relevant_total > 0 ? hits_at(k) / static_cast<double>(relevant_total) : 0.0;
  m.ndcgk = NdcgAt(ranked, judged, k);
  for (size_t i = 0; i < ranked.size() && i < 10; ++i) {
    if (Grade(judged, ranked[i]) > 0) {
      m.mrr10 = 1.0 / static_cast<double>(i + 1);
      break;
    }
  }
  return m;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  rank = std::clamp<size_t>(rank, 1, values.size());
  return values[rank - 1];
}

}  // namespace lathe::rag
