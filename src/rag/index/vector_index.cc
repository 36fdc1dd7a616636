#include "rag/index/vector_index.h"

#include "common/cpu_pool.h"
#include "common/omp_threads.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cstring>

namespace lathe::rag {
namespace {

// Accepts live slots that the filter allows.
struct SlotSelector : faiss::IDSelector {
  const uint8_t* alive;
  const uint8_t* allowed;
  size_t n;
  bool is_member(faiss::Index::idx_t id) const override {
    auto i = static_cast<size_t>(id);
    return i < n && alive[i] && (allowed == nullptr || allowed[i]);
  }
};

const faiss::IndexFlat* FlatStorage(const faiss::Index* index, bool hnsw) {
  if (hnsw) return dynamic_cast<const faiss::IndexFlat*>(static_cast<const faiss::IndexHNSW*>(index)->storage);
  return static_cast<const faiss::IndexFlat*>(index);
}

}  // namespace

VectorIndex::VectorIndex(int dim, VectorIndexOptions options)
    : dim_(dim), options_(options), index_(std::make_unique<faiss::IndexFlatIP>(dim)) {}
VectorIndex::~VectorIndex() = default;
VectorIndex::VectorIndex(VectorIndex&&) noexcept = default;
VectorIndex& VectorIndex::operator=(VectorIndex&&) noexcept = default;

void VectorIndex::Add(const float* vectors, size_t n) {
  if (n == 0) return;
  index_->add(static_cast<faiss::Index::idx_t>(n), vectors);
  alive_.insert(alive_.end(), n, 1);
  live_ += n;
}

void VectorIndex::Remove(uint32_t slot) {
  if (slot >= alive_.size() || !alive_[slot]) return;
  alive_[slot] = 0;
  --live_;
}

const float* VectorIndex::vector(uint32_t slot) const {
  return FlatStorage(index_.get(), hnsw_)->get_xb() + static_cast<size_t>(slot) * dim_;
}

void VectorIndex::BuildHnsw() {
  const faiss::IndexFlat* flat = FlatStorage(index_.get(), hnsw_);
  auto hnsw = std::make_unique<faiss::IndexHNSWFlat>(dim_, options_.hnsw_m, faiss::METRIC_INNER_PRODUCT);
  hnsw->hnsw.efConstruction = options_.ef_construction;
  // FAISS 1.7.3 sizes the search queue from the index's efSearch, not from
  // SearchParametersHNSW::efSearch, so the index must carry it.
  hnsw->hnsw.efSearch = options_.ef_search;
  // Building the graph is the one place where FAISS's own threads pay off
  // (the process pins OpenMP to one thread for per-query work).
  {
    ScopedOmpThreads threads(options_.build_threads > 0 ? options_.build_threads : static_cast<int>(HardwareThreads()));
    hnsw->add(flat->ntotal, flat->get_xb());
  }
  index_ = std::move(hnsw);
  hnsw_ = true;
}

void VectorIndex::Optimize() {
  if (!hnsw_ && alive_.size() > options_.hnsw_threshold) BuildHnsw();
}

std::vector<ScoredSlot> VectorIndex::SearchExact(const float* query, size_t k, const uint8_t* allowed) const {
  const float* xb = FlatStorage(index_.get(), hnsw_)->get_xb();
  std::vector<ScoredSlot> all;
  for (size_t s = 0; s < alive_.size(); ++s) {
    if (!alive_[s] || (allowed != nullptr && !allowed[s])) continue;
    const float* v = xb + s * static_cast<size_t>(dim_);
    float dot = 0;
    for (int i = 0; i < dim_; ++i) dot += v[i] * query[i];
    all.push_back(ScoredSlot{static_cast<uint32_t>(s), dot});
  }
  auto better = [](const ScoredSlot& a, const ScoredSlot& b) {
    return a.score > b.score || (a.score == b.score && a.slot < b.slot);
  };
  size_t top = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(top), all.end(), better);
  all.resize(top);
  return all;
}

std::vector<ScoredSlot> VectorIndex::Search(const float* query, size_t k, const uint8_t* allowed) const {
  if (live_ == 0 || k == 0) return {};
  bool filtered = allowed != nullptr || live_ != alive_.size();
  size_t candidates = live_;
  if (allowed != nullptr) {
    candidates = 0;
    for (size_t s = 0; s < alive_.size(); ++s) candidates += alive_[s] && allowed[s];
  }
  if (candidates == 0) return {};
  // A selective filter starves HNSW's graph walk: score the few allowed slots exactly.
  if (hnsw_ && allowed != nullptr &&
      static_cast<float>(candidates) < options_.exact_filter_fraction * static_cast<float>(live_)) {
    return SearchExact(query, k, allowed);
  }
  k = std::min(k, candidates);
  std::vector<float> distances(k);
  std::vector<faiss::Index::idx_t> labels(k);
  SlotSelector selector;
  selector.alive = alive_.data();
  selector.allowed = allowed;
  selector.n = alive_.size();
  try {
    if (hnsw_) {
      faiss::SearchParametersHNSW params;
      params.efSearch = std::max<int>(options_.ef_search, static_cast<int>(k));
      if (filtered) params.sel = &selector;
      index_->search(1, query, static_cast<faiss::Index::idx_t>(k), distances.data(), labels.data(), &params);
    } else {
      faiss::SearchParameters params;
      if (filtered) params.sel = &selector;
      index_->search(1, query, static_cast<faiss::Index::idx_t>(k), distances.data(), labels.data(),
                     filtered ? &params : nullptr);
    }
  } catch (const faiss::FaissException&) {
    return SearchExact(query, k, allowed);
  }
  std::vector<ScoredSlot> out;
  for (size_t i = 0; i < k; ++i) {
    if (labels[i] < 0) continue;
    out.push_back(ScoredSlot{static_cast<uint32_t>(labels[i]), distances[i]});
  }
  // A filtered graph walk can end before it finds k allowed slots.
  if (out.size() < k) return SearchExact(query, k, allowed);
  return out;
}

void VectorIndex::set_ef_search(int ef) {
  options_.ef_search = ef;
  if (hnsw_) static_cast<faiss::IndexHNSW*>(index_.get())->hnsw.efSearch = ef;
}

void VectorIndex::Serialize(BinaryWriter* w) const {
  w->Put<int32_t>(dim_);
  w->PutArray(alive_);
  faiss::VectorIOWriter writer;
  faiss::write_index(index_.get(), &writer);
  w->Put<uint8_t>(hnsw_ ? 1 : 0);
  w->Put<uint64_t>(writer.data.size());
  w->PutRaw(std::string_view(reinterpret_cast<const char*>(writer.data.data()), writer.data.size()));
}

Status VectorIndex::Deserialize(BinaryReader* r) {
  int32_t dim = 0;
  uint8_t hnsw = 0;
  uint64_t bytes = 0;
  std::string_view raw;
  if (!r->Get(&dim) || !r->GetArray(&alive_) || !r->Get(&hnsw) || !r->Get(&bytes) || !r->GetRaw(bytes, &raw)) {
    return Corruption("vector index: truncated");
  }
  if (dim != dim_) return Corruption("vector index: dimension " + std::to_string(dim) + " != " + std::to_string(dim_));
  faiss::VectorIOReader reader;
  reader.data.assign(raw.begin(), raw.end());
  try {
    index_.reset(faiss::read_index(&reader));
  } catch (const faiss::FaissException& e) {
    return Corruption(std::string("vector index: ") + e.what());
  }
  hnsw_ = hnsw != 0;
  bool kind_ok = hnsw_ ? dynamic_cast<faiss::IndexHNSWFlat*>(index_.get()) != nullptr
                       : dynamic_cast<faiss::IndexFlatIP*>(index_.get()) != nullptr;
  if (!kind_ok || index_->d != dim_ || static_cast<size_t>(index_->ntotal) != alive_.size()) {
    return Corruption("vector index: index does not match its slot table");
  }
  live_ = static_cast<size_t>(std::count(alive_.begin(), alive_.end(), 1));
  if (hnsw_) static_cast<faiss::IndexHNSW*>(index_.get())->hnsw.efSearch = options_.ef_search;
  return Status::OK();
}

}  // namespace lathe::rag
