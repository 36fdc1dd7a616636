#include "rag/retrieve/retriever.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <unordered_map>
#include <unordered_set>

namespace lathe::rag {

const char* RetrieverName(RetrieverKind kind) {
  switch (kind) {
    case RetrieverKind::kBm25: return "bm25";
    case RetrieverKind::kVector: return "vector";
    case RetrieverKind::kHybrid: return "hybrid";
  }
  return "?";
}

Result<RetrieverKind> ParseRetriever(const std::string& name) {
  if (name == "bm25") return RetrieverKind::kBm25;
  if (name == "vector") return RetrieverKind::kVector;
  if (name == "hybrid") return RetrieverKind::kHybrid;
  return InvalidArgument("unknown retriever '" + name + "' (expected bm25, vector or hybrid)");
}

std::vector<float> Retriever::EmbedQuery(const std::string& query) const {
  const Embedder* embedder = index_->embedder();
  std::vector<float> q(static_cast<size_t>(embedder->dim()));
  if (!embedder->Embed({query}, true, q.data()).ok()) q.clear();
  return q;
}

size_t Retriever::Depth(const RetrieveOptions& options) {
  // With one hit per document, look deeper so that k distinct documents remain.
  size_t depth = std::max(options.candidates, options.k);
  if (options.one_per_document) depth = std::max(depth, options.k * 4);
  return depth;
}

std::vector<std::string> Retriever::AnalyzeQuery(const std::string& query) const {
  return index_->analyzer().Analyze(query);
}

std::vector<ScoredSlot> Retriever::SearchBm25(const std::vector<std::string>& terms,
                                              const RetrieveOptions& options) const {
  if (options.kind == RetrieverKind::kVector) return {};
  return index_->bm25().Search(terms, Depth(options), options.allowed);
}

std::vector<Hit> Retriever::Search(const std::string& query, const RetrieveOptions& options) const {
  std::vector<ScoredSlot> bm25;
  std::vector<float> qvec;
  const std::vector<std::string> terms = AnalyzeQuery(query);
  const bool want_bm25 = options.kind != RetrieverKind::kVector;
  const bool want_vec = options.kind != RetrieverKind::kBm25;
  // The query embedding (the slow part with a remote embedder) runs on the pool
  // while BM25 runs here.
  if (want_bm25 && want_vec && pool_ != nullptr) {
    std::promise<void> done;
    std::future<void> future = done.get_future();
    pool_->Post([&] {
      qvec = EmbedQuery(query);
      done.set_value();
    });
    bm25 = SearchBm25(terms, options);
    future.get();
  } else {
    if (want_bm25) bm25 = SearchBm25(terms, options);
    if (want_vec) qvec = EmbedQuery(query);
  }
  return Fuse(terms, std::move(bm25), std::move(qvec), options);
}

std::vector<Hit> Retriever::Fuse(const std::vector<std::string>& terms, std::vector<ScoredSlot> bm25,
                                 std::vector<float> qvec, const RetrieveOptions& options) const {
  const size_t depth = Depth(options);
  std::vector<ScoredSlot> vec;
  if (options.kind == RetrieverKind::kBm25) qvec.clear();
  // With feedback, BM25's top chunks move the query vector before the vector search.
  const bool prf = options.kind == RetrieverKind::kHybrid && options.fusion.prf_docs > 0;
  if (prf && !qvec.empty()) {
    size_t m = std::min(options.fusion.prf_docs, bm25.size());
    for (size_t i = 0; i < m; ++i) {
      const float* v = index_->vectors().vector(bm25[i].slot);
      float w = options.fusion.prf_weight / static_cast<float>(m);
      for (size_t d = 0; d < qvec.size(); ++d) qvec[d] += w * v[d];
    }
    double norm = 0;
    for (float x : qvec) norm += double(x) * x;
    for (float& x : qvec) x = static_cast<float>(x / std::sqrt(std::max(norm, 1e-12)));
  }
  if (!qvec.empty()) vec = index_->vectors().Search(qvec.data(), depth, options.allowed);

  std::unordered_map<uint32_t, Hit> by_slot;
  auto hit_for = [&](uint32_t slot) -> Hit& {
    Hit& h = by_slot[slot];
    h.chunk_id = index_->chunk_id(slot);
    return h;
  };
  for (size_t r = 0; r < bm25.size(); ++r) {
    Hit& h = hit_for(bm25[r].slot);
    h.bm25_rank = static_cast<int>(r + 1);
    h.bm25_score = bm25[r].score;
  }
  for (size_t r = 0; r < vec.size(); ++r) {
    Hit& h = hit_for(vec[r].slot);
    h.vector_rank = static_cast<int>(r + 1);
    h.vector_score = vec[r].score;
  }

  const FusionOptions& f = options.fusion;
  std::vector<std::pair<uint32_t, Hit>> hits(by_slot.begin(), by_slot.end());
  float bm25_max = 0, bm25_min = 0, vec_max = 0, vec_min = 0;
  if (options.kind == RetrieverKind::kHybrid && f.method == FusionOptions::Method::kWeighted) {
    // A candidate found by one branch only gets its exact score from the
    // other, so the blend compares like with like.
    std::vector<uint32_t> need_bm25, need_vec;
    for (const auto& [slot, h] : hits) {
      if (!h.bm25_rank) need_bm25.push_back(slot);
      if (!h.vector_rank && !qvec.empty()) need_vec.push_back(slot);
    }
    std::vector<float> scores(need_bm25.size());
    index_->bm25().ScoreSlots(terms, need_bm25, scores.data());
    for (size_t i = 0; i < need_bm25.size(); ++i) by_slot[need_bm25[i]].bm25_score = scores[i];
    for (uint32_t slot : need_vec) {
      const float* v = index_->vectors().vector(slot);
      float dot = 0;
      for (size_t d = 0; d < qvec.size(); ++d) dot += v[d] * qvec[d];
      by_slot[slot].vector_score = dot;
    }
    for (auto& [slot, h] : hits) h = by_slot[slot];
    bool first = true;
    for (const auto& [slot, h] : hits) {
      bm25_max = first ? h.bm25_score : std::max(bm25_max, h.bm25_score);
      bm25_min = first ? h.bm25_score : std::min(bm25_min, h.bm25_score);
      vec_max = first ? h.vector_score : std::max(vec_max, h.vector_score);
      vec_min = first ? h.vector_score : std::min(vec_min, h.vector_score);
      first = false;
    }
  }
  for (auto& [slot, h] : hits) {
    switch (options.kind) {
      case RetrieverKind::kBm25: h.score = h.bm25_score; break;
      case RetrieverKind::kVector: h.score = h.vector_score; break;
      case RetrieverKind::kHybrid:
        if (f.method == FusionOptions::Method::kRrf) {
          h.score = (h.bm25_rank ? f.bm25_weight / (f.rrf_k + h.bm25_rank) : 0.0f) +
                    (h.vector_rank ? f.vector_weight / (f.rrf_k + h.vector_rank) : 0.0f);
        } else {
          float nb = bm25_max > bm25_min ? (h.bm25_score - bm25_min) / (bm25_max - bm25_min) : 0.0f;
          float nv = vec_max > vec_min ? (h.vector_score - vec_min) / (vec_max - vec_min) : 0.0f;
          h.score = f.alpha * nb + (1.0f - f.alpha) * nv;
        }
        break;
    }
  }
  std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) {
    return a.second.score > b.second.score || (a.second.score == b.second.score && a.first < b.first);
  });
  std::vector<Hit> out;
  std::unordered_set<std::string_view> seen_docs;
  for (auto& [slot, h] : hits) {
    if (out.size() >= options.k) break;
    const std::string& doc = index_->doc_id(slot);
    if (options.one_per_document && !seen_docs.insert(doc).second) continue;
    h.doc_id = doc;
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace lathe::rag
