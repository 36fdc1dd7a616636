// ann_choice: which approximate FAISS index to use above the exact-search
// threshold. Loads a collection's vectors and embeds queries with its
// embedder, then builds HNSW and IVF-Flat variants and reports, for each,
// build seconds, recall@10 against exact search, and per-query latency.
//
//   ann_choice --data-dir DIR --collection NAME --queries queries.jsonl
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <omp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "app/app_context.h"
#include "common/omp_threads.h"
#include "rag/eval/metrics.h"

using nlohmann::json;
using namespace lathe;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  omp_set_num_threads(1);
  app::AppContext ctx;
  std::string collection = "default", queries_path;
  size_t max_queries = 809;
  CLI::App cli{"ANN index choice"};
  cli.add_option("--data-dir", ctx.settings.data_dir)->required();
  cli.add_option("--collection", collection);
  cli.add_option("--queries", queries_path)->required();
  cli.add_option("--max-queries", max_queries);
  CLI11_PARSE(cli, argc, argv);
  ctx.settings.log_level = "warn";
  ctx.settings.index.vector.ann_threshold = SIZE_MAX;  // keep the loaded index exact
  if (Status st = ctx.Open(); !st.ok()) return std::cerr << st.ToString() << "\n", 1;
  auto index = ctx.LoadIndex(collection);
  if (!index.ok()) return std::cerr << index.status().ToString() << "\n", 1;
  const rag::VectorIndex& vectors = (*index)->vectors();
  const int d = vectors.dim();
  const size_t n = vectors.slots();
  std::vector<std::string> queries;
  std::ifstream in(queries_path);
  for (std::string line; std::getline(in, line) && queries.size() < max_queries;) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("text")) queries.push_back(j["text"]);
  }
  std::vector<float> q(queries.size() * static_cast<size_t>(d));
  (void)(*index)->embedder()->Embed(queries, true, q.data());
  const float* xb = vectors.vector(0);
  const size_t nq = queries.size();
  // Ground truth and exact latency.
  std::vector<std::unordered_set<faiss::Index::idx_t>> truth(nq);
  std::vector<double> exact_ms;
  for (size_t i = 0; i < nq; ++i) {
    auto t0 = Clock::now();
    auto top = vectors.SearchExact(q.data() + i * d, 10, nullptr);
    exact_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    for (const auto& s : top) truth[i].insert(s.slot);
  }
  json out = {{"vectors", n}, {"dim", d}, {"queries", nq},
              {"exact", {{"p50_ms", rag::Percentile(exact_ms, 50)}, {"p99_ms", rag::Percentile(exact_ms, 99)}}},
              {"variants", json::array()}};
  auto measure = [&](const std::string& name, faiss::Index* idx, double build_s,
                     const faiss::SearchParameters* params) {
    std::vector<double> ms;
    double recall = 0;
    std::vector<float> dist(10);
    std::vector<faiss::Index::idx_t> labels(10);
    for (size_t i = 0; i < nq; ++i) {
      auto t0 = Clock::now();
      idx->search(1, q.data() + i * d, 10, dist.data(), labels.data(), params);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      size_t hit = 0;
      for (auto l : labels) hit += truth[i].count(l);
      recall += truth[i].empty() ? 1.0 : static_cast<double>(hit) / truth[i].size();
    }
    out["variants"].push_back({{"index", name}, {"build_s", build_s}, {"recall_at_10", recall / nq},
                               {"p50_ms", rag::Percentile(ms, 50)}, {"p99_ms", rag::Percentile(ms, 99)}});
    std::cerr << out["variants"].back().dump() << "\n";
  };
  const int threads = static_cast<int>(HardwareThreads());
  for (int efc : {80, 200}) {
    faiss::IndexHNSWFlat hnsw(d, 32, faiss::METRIC_INNER_PRODUCT);
    hnsw.hnsw.efConstruction = efc;
    auto t0 = Clock::now();
    {
      ScopedOmpThreads omp(threads);
      hnsw.add(static_cast<faiss::Index::idx_t>(n), xb);
    }
    double build = std::chrono::duration<double>(Clock::now() - t0).count();
    for (int ef : {128, 256, 512}) {
      hnsw.hnsw.efSearch = ef;
      measure("HNSW32 efC" + std::to_string(efc) + " ef" + std::to_string(ef), &hnsw, build, nullptr);
    }
  }
  for (size_t nlist : {static_cast<size_t>(std::sqrt(n)), static_cast<size_t>(4 * std::sqrt(n))}) {
    faiss::IndexFlatIP quantizer(d);
    faiss::IndexIVFFlat ivf(&quantizer, d, nlist, faiss::METRIC_INNER_PRODUCT);
    auto t0 = Clock::now();
    {
      ScopedOmpThreads omp(threads);
      size_t sample = std::min(n, nlist * 64);
      ivf.train(static_cast<faiss::Index::idx_t>(sample), xb);
      ivf.add(static_cast<faiss::Index::idx_t>(n), xb);
    }
    double build = std::chrono::duration<double>(Clock::now() - t0).count();
    for (size_t nprobe : {16, 32, 64, 128}) {
      faiss::SearchParametersIVF params;
      params.nprobe = nprobe;
      measure("IVF" + std::to_string(nlist) + " nprobe" + std::to_string(nprobe), &ivf, build, &params);
    }
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}
