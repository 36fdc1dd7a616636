#include "rag/retrieve/retriever.h"

#include <algorithm>
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

std::vector<ScoredSlot> Retriever::SearchVector(const std::string& query, size_t depth, const uint8_t* allowed) const {
  const Embedder* embedder = index_->embedder();
  std::vector<float> q(static_cast<size_t>(embedder->dim()));
  if (!embedder->Embed({query}, true, q.data()).ok()) return {};
  return index_->vectors().Search(q.data(), depth, allowed);
}

std::vector<Hit> Retriever::Search(const std::string& query, const RetrieveOptions& options) const {
  // With one hit per document, look deeper so that k distinct documents remain.
  size_t depth = std::max(options.candidates, options.k);
  if (options.one_per_document) depth = std::max(depth, options.k * 4);

  std::vector<ScoredSlot> bm25, vec;
  const bool want_bm25 = options.kind != RetrieverKind::kVector;
  const bool want_vec = options.kind != RetrieverKind::kBm25;
  if (want_bm25 && want_vec && pool_ != nullptr) {
    std::promise<std::vector<ScoredSlot>> promise;
    std::future<std::vector<ScoredSlot>> future = promise.get_future();
    pool_->Post([&] { promise.set_value(SearchVector(query, depth, options.allowed)); });
    bm25 = index_->bm25().Search(index_->analyzer().Analyze(query), depth, options.allowed);
    vec = future.get();
  } else {
    if (want_bm25) bm25 = index_->bm25().Search(index_->analyzer().Analyze(query), depth, options.allowed);
    if (want_vec) vec = SearchVector(query, depth, options.allowed);
  }

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
  float bm25_max = bm25.empty() ? 1 : bm25.front().score, bm25_min = bm25.empty() ? 0 : bm25.back().score;
  float vec_max = vec.empty() ? 1 : vec.front().score, vec_min = vec.empty() ? 0 : vec.back().score;
  std::vector<std::pair<uint32_t, Hit>> hits(by_slot.begin(), by_slot.end());
  for (auto& [slot, h] : hits) {
    switch (options.kind) {
      case RetrieverKind::kBm25: h.score = h.bm25_score; break;
      case RetrieverKind::kVector: h.score = h.vector_score; break;
      case RetrieverKind::kHybrid:
        if (f.method == FusionOptions::Method::kRrf) {
          h.score = (h.bm25_rank ? f.bm25_weight / (f.rrf_k + h.bm25_rank) : 0.0f) +
                    (h.vector_rank ? f.vector_weight / (f.rrf_k + h.vector_rank) : 0.0f);
        } else {
          float nb = h.bm25_rank && bm25_max > bm25_min ? (h.bm25_score - bm25_min) / (bm25_max - bm25_min) : 0.0f;
          float nv = h.vector_rank && vec_max > vec_min ? (h.vector_score - vec_min) / (vec_max - vec_min) : 0.0f;
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
