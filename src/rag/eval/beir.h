// BEIR data sets: queries.jsonl and qrels/<split>.tsv readers, and the
// evaluation loop that runs each retriever over the judged queries. The corpus
// itself is ingested through the ordinary Ingester (corpus.jsonl).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "rag/eval/metrics.h"
#include "rag/retrieve/retriever.h"

namespace lathe::rag {

struct BeirQuery {
  std::string id;
  std::string text;
  Judgements judged;
};

// Queries of dir/queries.jsonl that have judgements in dir/qrels/<split>.tsv,
// in qrels order. NotFound / InvalidArgument with the file and line on errors.
Result<std::vector<BeirQuery>> LoadBeirQueries(const std::string& dir, const std::string& split);
// The same from explicit files (qrels: query-id, corpus-id, score; tab-separated).
Result<std::vector<BeirQuery>> LoadJudgedQueries(const std::string& queries_path, const std::string& qrels_path);

struct EvalResult {
  std::string retriever;
  size_t queries = 0;
  QueryMetrics mean;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0;
};

// Runs every query through the retriever (one hit per document, depth
// max(100, k)) and averages the metrics; pk/rk/ndcgk are at cut-off k.
EvalResult Evaluate(const Retriever& retriever, const std::vector<BeirQuery>& queries, RetrieveOptions options,
                    size_t k = 10);

}  // namespace lathe::rag
