#include "rag/eval/beir.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "common/file_util.h"

namespace lathe::rag {

Result<std::vector<BeirQuery>> LoadBeirQueries(const std::string& dir, const std::string& split) {
  return LoadJudgedQueries(dir + "/queries.jsonl", dir + "/qrels/" + split + ".tsv");
}

Result<std::vector<BeirQuery>> LoadJudgedQueries(const std::string& queries_path, const std::string& qrels_path) {
  LATHE_ASSIGN_OR_RETURN(std::string qrels, ReadFile(qrels_path));
  std::vector<std::string> order;
  std::unordered_map<std::string, Judgements> judged;
  std::istringstream in(qrels);
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string qid, did, score;
    if (!std::getline(fields, qid, '\t') || !std::getline(fields, did, '\t') || !std::getline(fields, score, '\t')) {
      return InvalidArgument(qrels_path + ":" + std::to_string(line_no) + ": expected query-id, corpus-id, score");
    }
    if (line_no == 1 && qid == "query-id") continue;
    int grade = 0;
    try {
      grade = std::stoi(score);
    } catch (...) {
      return InvalidArgument(qrels_path + ":" + std::to_string(line_no) + ": score '" + score + "' is not an integer");
    }
    if (!judged.count(qid)) order.push_back(qid);
    judged[qid][did] = grade;
  }
  LATHE_ASSIGN_OR_RETURN(std::string data, ReadFile(queries_path));
  std::unordered_map<std::string, std::string> texts;
  std::istringstream qin(data);
  line_no = 0;
  while (std::getline(qin, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("_id") || !j.contains("text") || !j["text"].is_string()) {
      return InvalidArgument(queries_path + ":" + std::to_string(line_no) + ": expected {\"_id\", \"text\"}");
    }
    std::string id = j["_id"].is_string() ? j["_id"].get<std::string>() : j["_id"].dump();
    texts[id] = j["text"].get<std::string>();
  }
  std::vector<BeirQuery> out;
  for (const std::string& qid : order) {
    auto it = texts.find(qid);
    if (it == texts.end()) return InvalidArgument(qrels_path + ": query '" + qid + "' is not in queries.jsonl");
    out.push_back(BeirQuery{qid, it->second, judged[qid]});
  }
  if (out.empty()) return InvalidArgument(qrels_path + ": no judged queries");
  return out;
}

EvalResult Evaluate(const Retriever& retriever, const std::vector<BeirQuery>& queries, RetrieveOptions options,
                    size_t k) {
  options.k = std::max<size_t>(100, k);
  options.one_per_document = true;
  EvalResult result;
  result.retriever = RetrieverName(options.kind);
  result.queries = queries.size();
  std::vector<double> latencies;
  latencies.reserve(queries.size());
  for (const BeirQuery& q : queries) {
    auto start = std::chrono::steady_clock::now();
    std::vector<Hit> hits = retriever.Search(q.text, options);
    latencies.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    std::vector<std::string> ranked;
    ranked.reserve(hits.size());
    for (const Hit& h : hits) ranked.push_back(h.doc_id);
    QueryMetrics m = ScoreRanking(ranked, q.judged, k);
    result.mean.p1 += m.p1;
    result.mean.p5 += m.p5;
    result.mean.p10 += m.p10;
    result.mean.r10 += m.r10;
    result.mean.r100 += m.r100;
    result.mean.ndcg10 += m.ndcg10;
    result.mean.mrr10 += m.mrr10;
    result.mean.pk += m.pk;
    result.mean.rk += m.rk;
    result.mean.ndcgk += m.ndcgk;
  }
  double n = queries.empty() ? 1.0 : static_cast<double>(queries.size());
  for (double* v : {&result.mean.p1, &result.mean.p5, &result.mean.p10, &result.mean.r10, &result.mean.r100,
                    &result.mean.ndcg10, &result.mean.mrr10, &result.mean.pk, &result.mean.rk, &result.mean.ndcgk}) {
    *v /= n;
  }
  result.p50_ms = Percentile(latencies, 50);
  result.p95_ms = Percentile(latencies, 95);
  result.p99_ms = Percentile(latencies, 99);
  return result;
}

}  // namespace lathe::rag
