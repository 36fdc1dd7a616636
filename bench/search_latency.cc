// search_latency: per-query latency of each retriever over an ingested
// collection, and the recall of the approximate vector index against exact
// search. Reads queries from a BEIR queries.jsonl (only "text" is used).
//
//   search_latency --data-dir DIR --collection NAME --queries FILE [--repeat 3]
//
// Prints one JSON object. Latency is wall time of Retriever::Search, k=10,
// measured after one warm-up pass.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <faiss/utils/distances.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "app/app_context.h"
#include "rag/eval/metrics.h"

using nlohmann::json;
using namespace lathe;

int main(int argc, char** argv) {
  omp_set_num_threads(1);
  app::AppContext ctx;
  std::string collection = "default", queries_path;
  int repeat = 3;
  size_t max_queries = 1000;
  CLI::App cli{"search latency benchmark"};
  cli.add_option("--data-dir", ctx.settings.data_dir)->required();
  cli.add_option("--collection", collection);
  cli.add_option("--queries", queries_path)->required();
  cli.add_option("--repeat", repeat);
  cli.add_option("--max-queries", max_queries);
  cli.add_option("--threads", ctx.settings.threads);
  cli.add_option("--nprobe", ctx.settings.index.vector.nprobe, "IVF cells visited per query");
  cli.add_option("--ann-threshold", ctx.settings.index.vector.ann_threshold, "vectors above which IVF is built");
  std::string kernel = "eigen";
  cli.add_option("--exact-kernel", kernel, "exact vector search: eigen (lathe's default) or faiss")
      ->check(CLI::IsMember({"eigen", "faiss"}));
  int blas_threshold = -1;
  cli.add_option("--faiss-blas-threshold", blas_threshold,
                 "queries from which FAISS's exact search uses BLAS (FAISS default 20; lathe sets 1)");
  CLI11_PARSE(cli, argc, argv);
  if (blas_threshold >= 0) faiss::distance_compute_blas_threshold = blas_threshold;
  ctx.settings.index.vector.exact_kernel = kernel == "faiss" ? rag::VectorIndexOptions::ExactKernel::kFaiss
                                                             : rag::VectorIndexOptions::ExactKernel::kEigen;
  ctx.settings.log_level = "warn";
  if (Status st = ctx.Open(); !st.ok()) {
    std::cerr << st.ToString() << "\n";
    return 1;
  }
  auto index = ctx.LoadIndex(collection);
  if (!index.ok()) {
    std::cerr << index.status().ToString() << "\n";
    return 1;
  }
  std::vector<std::string> queries;
  std::ifstream in(queries_path);
  for (std::string line; std::getline(in, line) && queries.size() < max_queries;) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("text")) queries.push_back(j["text"]);
  }
  rag::Retriever retriever(index->get(), ctx.pool.get());
  json out = {{"collection", collection}, {"chunks", (*index)->live_chunks()},
              {"vector_index", (*index)->vectors().is_approximate() ? "ivf" : "flat"}, {"exact_kernel", kernel}, {"queries", queries.size()},
              {"threads", ctx.pool->size()}, {"nlist", (*index)->vectors().nlist()},
              {"nprobe", ctx.settings.index.vector.nprobe},
              {"results", json::array()}};
  for (auto kind : {rag::RetrieverKind::kBm25, rag::RetrieverKind::kVector, rag::RetrieverKind::kHybrid}) {
    rag::RetrieveOptions options;
    options.kind = kind;
    options.k = 10;
    for (const auto& q : queries) retriever.Search(q, options);  // warm-up
    std::vector<double> ms;
    auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < repeat; ++r) {
      for (const auto& q : queries) {
        auto t0 = std::chrono::steady_clock::now();
        retriever.Search(q, options);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
    }
    double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out["results"].push_back({{"retriever", rag::RetrieverName(kind)}, {"p50_ms", rag::Percentile(ms, 50)},
                              {"p95_ms", rag::Percentile(ms, 95)}, {"p99_ms", rag::Percentile(ms, 99)},
                              {"qps", static_cast<double>(ms.size()) / total}});
  }
  // Recall@10 of the vector index (IVF or flat) against exact search.
  const rag::Embedder* embedder = (*index)->embedder();
  std::vector<float> q(static_cast<size_t>(embedder->dim()));
  double recall = 0;
  for (const auto& text : queries) {
    (void)embedder->Embed({text}, true, q.data());
    auto approx = (*index)->vectors().Search(q.data(), 10, nullptr);
    auto exact = (*index)->vectors().SearchExact(q.data(), 10, nullptr);
    std::unordered_set<uint32_t> truth;
    for (const auto& s : exact) truth.insert(s.slot);
    size_t hit = 0;
    for (const auto& s : approx) hit += truth.count(s.slot);
    recall += exact.empty() ? 1.0 : static_cast<double>(hit) / static_cast<double>(exact.size());
  }
  out["vector_recall_at_10_vs_exact"] = queries.empty() ? 0.0 : recall / static_cast<double>(queries.size());
  std::cout << out.dump(2) << "\n";
  return 0;
}
