#include "rag/index/vector_index.h"

#include <Eigen/Core>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexReplicas.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/invlists/InvertedLists.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>

#include "common/cpu_pool.h"
#include "common/logging.h"
#include "common/omp_threads.h"

namespace lathe::rag {
namespace {

using idx_t = faiss::Index::idx_t;

// Accepts live slots that the filter allows.
struct SlotSelector : faiss::IDSelector {
  SlotSelector(const std::vector<uint8_t>& alive_slots, const uint8_t* allowed_slots)
      : alive(alive_slots.data()), allowed(allowed_slots), n(alive_slots.size()) {}
  const uint8_t* alive;
  const uint8_t* allowed;
  size_t n;
  bool is_member(idx_t id) const override {
    auto i = static_cast<size_t>(id);
    return i < n && alive[i] && (allowed == nullptr || allowed[i]);
  }
};

int ResolveThreads(int threads) { return threads > 0 ? threads : static_cast<int>(HardwareThreads()); }

// The nearest-centroid searches of an IVF build (every k-means iteration,
// then the assignment of every vector to its list), split by query across one
// replica of the centroids per thread (FAISS's IndexReplicas, a thread each),
// each replica on one BLAS thread. Threaded BLAS parallelised only the
// products and left its threads spinning through the top-1 selection between
// them (and FAISS's own OpenMP workers spun beside them); here the whole
// search runs on every thread.
class CentroidReplicas {
 public:
  CentroidReplicas(int dim, int threads) : replicas_(static_cast<idx_t>(dim), /*threaded=*/true) {
    for (int t = 0; t < threads; ++t) {
      parts_.push_back(std::make_unique<OneThreadFlatIP>(dim));
      replicas_.add_replica(parts_.back().get());
    }
  }
  faiss::Index* index() { return &replicas_; }

 private:
  // A replica's searches run on its own thread, whose OpenMP team would
  // otherwise be the process default (all cores): keep it to that thread.
  struct OneThreadFlatIP : faiss::IndexFlatIP {
    explicit OneThreadFlatIP(int dim) : faiss::IndexFlatIP(static_cast<idx_t>(dim)) {}
    void search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
                const faiss::SearchParameters* params) const override {
      ScopedOmpThreads one(1);
      faiss::IndexFlatIP::search(n, x, k, distances, labels, params);
    }
  };
  std::vector<std::unique_ptr<OneThreadFlatIP>> parts_;  // outlive replicas_ (declared first)
  faiss::IndexReplicas replicas_;
};

// Adds xb (n vectors) to the trained IVF index ivf, each to the list of its
// nearest centroid, found on `threads` threads.
void AddToLists(faiss::IndexIVFFlat* ivf, int threads, idx_t n, const float* xb) {
  ScopedOmpThreads omp(1);
  ScopedBlasThreads blas(1);
  if (threads <= 1) {
    ivf->add(n, xb);
    return;
  }
  CentroidReplicas assigner(static_cast<int>(ivf->d), threads);
  assigner.index()->add(static_cast<idx_t>(ivf->nlist), static_cast<faiss::IndexFlat*>(ivf->quantizer)->get_xb());
  // In pieces, as IndexIVF::add does, to bound the assignment buffers.
  const idx_t piece = idx_t{1} << 16;
  std::vector<float> distances(static_cast<size_t>(std::min(n, piece)));
  std::vector<idx_t> lists(distances.size());
  for (idx_t begin = 0; begin < n; begin += piece) {
    idx_t count = std::min(piece, n - begin);
    assigner.index()->search(count, xb + begin * ivf->d, 1, distances.data(), lists.data());
    ivf->add_core(count, xb + begin * ivf->d, nullptr, lists.data());
  }
}

bool Better(const ScoredSlot& a, const ScoredSlot& b) {
  return a.score > b.score || (a.score == b.score && a.slot < b.slot);
}

std::vector<ScoredSlot> Collect(const std::vector<float>& distances, const std::vector<idx_t>& labels) {
  std::vector<ScoredSlot> out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= 0) out.push_back(ScoredSlot{static_cast<uint32_t>(labels[i]), distances[i]});
  }
  return out;
}

}  // namespace

VectorIndex::VectorIndex(int dim, VectorIndexOptions options)
    : dim_(dim), options_(options), flat_(std::make_unique<faiss::IndexFlatIP>(dim)) {}
VectorIndex::~VectorIndex() = default;
VectorIndex::VectorIndex(VectorIndex&&) noexcept = default;
VectorIndex& VectorIndex::operator=(VectorIndex&&) noexcept = default;

void VectorIndex::Add(const float* vectors, size_t n) {
  if (n == 0) return;
  flat_->add(static_cast<idx_t>(n), vectors);
  if (ivf_) ivf_->add(static_cast<idx_t>(n), vectors);  // ids continue from ntotal == slot
  alive_.insert(alive_.end(), n, 1);
  live_ += n;
}

void VectorIndex::Remove(uint32_t slot) {
  if (slot >= alive_.size() || !alive_[slot]) return;
  alive_[slot] = 0;
  --live_;
}

size_t VectorIndex::nlist() const { return ivf_ ? ivf_->nlist : 0; }

const float* VectorIndex::vector(uint32_t slot) const {
  return flat_->get_xb() + static_cast<size_t>(slot) * static_cast<size_t>(dim_);
}

void VectorIndex::BuildIvf() {
  const size_t n = alive_.size();
  // FAISS wants at least 39 training points per cell.
  size_t nlist = static_cast<size_t>(options_.ivf_cells_per_sqrt * std::sqrt(static_cast<double>(n)));
  nlist = std::clamp<size_t>(nlist, 1, std::max<size_t>(1, n / 39));
  auto quantizer = new faiss::IndexFlatIP(dim_);
  auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer, dim_, nlist, faiss::METRIC_INNER_PRODUCT);
  ivf->own_fields = true;
  ivf->cp.seed = 1234;  // deterministic k-means
  const int threads = ResolveThreads(options_.build_threads);
  // Train on an evenly spread sample (at most 64 points per cell).
  size_t sample = std::min(n, nlist * 64);
  std::vector<float> train(sample * static_cast<size_t>(dim_));
  for (size_t i = 0; i < sample; ++i) {
    size_t src = i * n / sample;
    std::memcpy(train.data() + i * dim_, vector(static_cast<uint32_t>(src)), sizeof(float) * dim_);
  }
  auto t0 = std::chrono::steady_clock::now();
  {
    ScopedOmpThreads omp(1);
    ScopedBlasThreads blas(1);
    std::optional<CentroidReplicas> replicas;
    if (threads > 1) {
      replicas.emplace(dim_, threads);
      ivf->clustering_index = replicas->index();  // k-means assigns through them
    }
    ivf->train(static_cast<idx_t>(sample), train.data());
    ivf->clustering_index = nullptr;
  }
  auto t1 = std::chrono::steady_clock::now();
  // The quantizer holds the final centroids, normalised as the metric requires.
  AddToLists(ivf.get(), threads, static_cast<idx_t>(n), flat_->get_xb());
  auto t2 = std::chrono::steady_clock::now();
  LOG_DEBUG("ivf: {} cells, trained on {} vectors in {:.3f} s, added {} in {:.3f} s", nlist, sample,
            std::chrono::duration<double>(t1 - t0).count(), n, std::chrono::duration<double>(t2 - t1).count());
  ivf_ = std::move(ivf);
}

void VectorIndex::Optimize() {
  if (!ivf_ && alive_.size() > options_.ann_threshold) BuildIvf();
}

// Scores every live, allowed slot with one matrix-vector product and keeps
// the k best.
std::vector<ScoredSlot> VectorIndex::SearchAllowedExactly(const float* query, size_t k, const uint8_t* allowed) const {
  const size_t n = alive_.size();
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMajor> xb(flat_->get_xb(), static_cast<Eigen::Index>(n), dim_);
  Eigen::Map<const Eigen::VectorXf> q(query, dim_);
  Eigen::VectorXf scores = xb * q;
  std::vector<ScoredSlot> all;
  all.reserve(allowed == nullptr ? live_ : 64);
  for (size_t s = 0; s < n; ++s) {
    if (!alive_[s] || (allowed != nullptr && !allowed[s])) continue;
    all.push_back(ScoredSlot{static_cast<uint32_t>(s), scores[static_cast<Eigen::Index>(s)]});
  }
  size_t top = std::min(k, all.size());
  if (top < all.size()) {
    std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(top), all.end(), Better);
    all.resize(top);
  }
  std::sort(all.begin(), all.end(), Better);
  return all;
}

std::vector<ScoredSlot> VectorIndex::SearchExact(const float* query, size_t k, const uint8_t* allowed) const {
  if (live_ == 0 || k == 0) return {};
  k = std::min(k, alive_.size());
  if (options_.exact_kernel == VectorIndexOptions::ExactKernel::kEigen) return SearchAllowedExactly(query, k, allowed);
  std::vector<float> distances(k);
  std::vector<idx_t> labels(k);
  SlotSelector selector(alive_, allowed);
  faiss::SearchParameters params;
  params.sel = &selector;
  bool filtered = allowed != nullptr || live_ != alive_.size();
  try {
    flat_->search(1, query, static_cast<idx_t>(k), distances.data(), labels.data(), filtered ? &params : nullptr);
  } catch (const faiss::FaissException&) {
    return SearchAllowedExactly(query, k, allowed);
  }
  return Collect(distances, labels);
}

std::vector<ScoredSlot> VectorIndex::Search(const float* query, size_t k, const uint8_t* allowed) const {
  if (live_ == 0 || k == 0) return {};
  size_t candidates = live_;
  if (allowed != nullptr) {
    candidates = 0;
    for (size_t s = 0; s < alive_.size(); ++s) candidates += alive_[s] && allowed[s];
  }
  if (candidates == 0) return {};
  k = std::min(k, candidates);
  if (!ivf_) return SearchExact(query, k, allowed);
  // A selective filter leaves IVF's visited cells nearly empty: score the few
  // allowed slots exactly instead.
  if (allowed != nullptr && static_cast<float>(candidates) < options_.exact_filter_fraction * static_cast<float>(live_)) {
    return SearchAllowedExactly(query, k, allowed);
  }
  std::vector<float> distances(k);
  std::vector<idx_t> labels(k);
  SlotSelector selector(alive_, allowed);
  faiss::SearchParametersIVF params;
  params.nprobe = std::clamp<size_t>(static_cast<size_t>(std::max(1, options_.nprobe)), 1, ivf_->nlist);
  if (allowed != nullptr || live_ != alive_.size()) params.sel = &selector;
  try {
    ivf_->search(1, query, static_cast<idx_t>(k), distances.data(), labels.data(), &params);
  } catch (const faiss::FaissException&) {
    return SearchExact(query, k, allowed);
  }
  std::vector<ScoredSlot> out = Collect(distances, labels);
  // The visited cells can hold fewer than k allowed slots.
  if (out.size() < k) return SearchExact(query, k, allowed);
  return out;
}

void VectorIndex::Compact() {
  if (live_ == alive_.size()) return;
  auto flat = std::make_unique<faiss::IndexFlatIP>(dim_);
  std::vector<float> live_vectors;
  live_vectors.reserve(live_ * static_cast<size_t>(dim_));
  for (uint32_t s = 0; s < alive_.size(); ++s) {
    if (alive_[s]) live_vectors.insert(live_vectors.end(), vector(s), vector(s) + dim_);
  }
  flat->add(static_cast<idx_t>(live_), live_vectors.data());
  flat_ = std::move(flat);
  if (ivf_) {
    ivf_->reset();
    AddToLists(ivf_.get(), ResolveThreads(options_.build_threads), static_cast<idx_t>(live_), flat_->get_xb());
  }
  alive_.assign(live_, 1);
}

// The vectors are written once, from the exact store (referenced, not
// copied). The IVF index is written as its trained centroids and each slot's
// list; loading refills the lists from the exact store. Lists always hold
// their slots in ascending order (slots are added in order, and Compact
// re-adds them in order), so refilling in slot order restores them exactly.
void VectorIndex::Serialize(BinaryWriter* w) const {
  const size_t n = alive_.size();
  w->Put<int32_t>(dim_);
  w->PutArray(alive_);
  w->PutArrayRef(flat_->get_xb(), n * static_cast<size_t>(dim_));
  w->Put<uint8_t>(ivf_ ? 1 : 0);
  if (!ivf_) return;
  const auto* centroids = dynamic_cast<const faiss::IndexFlat*>(ivf_->quantizer);
  std::vector<int32_t> list_of_slot(n, -1);
  for (size_t list = 0; list < ivf_->nlist; ++list) {
    const size_t size = ivf_->invlists->list_size(list);
    faiss::InvertedLists::ScopedIds ids(ivf_->invlists, list);
    for (size_t i = 0; i < size; ++i) list_of_slot[static_cast<size_t>(ids[i])] = static_cast<int32_t>(list);
  }
  w->Put<uint64_t>(ivf_->nlist);
  w->PutArrayRef(centroids->get_xb(), ivf_->nlist * static_cast<size_t>(dim_));
  w->PutArray(list_of_slot);
}

Status VectorIndex::Deserialize(BinaryReader* r) {
  int32_t dim = 0;
  uint64_t count = 0, nlist = 0;
  std::string_view vectors, centroids;
  uint8_t has_ivf = 0;
  std::vector<int32_t> list_of_slot;
  if (!r->Get(&dim) || !r->GetArray(&alive_) || !r->Get(&count) ||
      count > r->remaining() / sizeof(float) || !r->GetRaw(count * sizeof(float), &vectors) || !r->Get(&has_ivf)) {
    return Corruption("vector index: truncated");
  }
  if (dim != dim_) return Corruption("vector index: dimension " + std::to_string(dim) + " != " + std::to_string(dim_));
  const size_t n = alive_.size();
  if (count != n * static_cast<size_t>(dim_)) return Corruption("vector index: index does not match its slot table");
  if (has_ivf) {
    uint64_t centroid_floats = 0;
    if (!r->Get(&nlist) || !r->Get(&centroid_floats) || centroid_floats > r->remaining() / sizeof(float) ||
        !r->GetRaw(centroid_floats * sizeof(float), &centroids) || !r->GetArray(&list_of_slot)) {
      return Corruption("vector index: truncated IVF lists");
    }
    if (nlist == 0 || centroid_floats != nlist * static_cast<size_t>(dim_) || list_of_slot.size() != n) {
      return Corruption("vector index: IVF lists do not match the slot table");
    }
    for (int32_t list : list_of_slot) {
      if (list < 0 || static_cast<uint64_t>(list) >= nlist) return Corruption("vector index: slot in no IVF list");
    }
  }
  // The payload's floats need not be aligned: copy them in through FAISS.
  auto flat = std::make_unique<faiss::IndexFlatIP>(dim_);
  flat->codes.resize(vectors.size());
  std::memcpy(flat->codes.data(), vectors.data(), vectors.size());
  flat->ntotal = static_cast<idx_t>(n);
  flat_ = std::move(flat);
  ivf_.reset();
  if (has_ivf) {
    auto quantizer = std::make_unique<faiss::IndexFlatIP>(dim_);
    quantizer->codes.resize(centroids.size());
    std::memcpy(quantizer->codes.data(), centroids.data(), centroids.size());
    quantizer->ntotal = static_cast<idx_t>(nlist);
    auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer.get(), dim_, nlist, faiss::METRIC_INNER_PRODUCT);
    quantizer.release();
    ivf->own_fields = true;
    ivf->cp.seed = 1234;
    // Refill each list in slot order from the exact store.
    const size_t code_size = sizeof(float) * static_cast<size_t>(dim_);
    std::vector<size_t> sizes(nlist, 0);
    for (int32_t list : list_of_slot) ++sizes[static_cast<size_t>(list)];
    auto* lists = dynamic_cast<faiss::ArrayInvertedLists*>(ivf->invlists);
    if (lists == nullptr) return Corruption("vector index: unexpected IVF list storage");
    for (size_t list = 0; list < nlist; ++list) {
      lists->ids[list].reserve(sizes[list]);
      lists->codes[list].reserve(sizes[list] * code_size);
    }
    const auto* xb = reinterpret_cast<const uint8_t*>(flat_->get_xb());
    for (size_t slot = 0; slot < n; ++slot) {
      auto list = static_cast<size_t>(list_of_slot[slot]);
      lists->ids[list].push_back(static_cast<idx_t>(slot));
      lists->codes[list].insert(lists->codes[list].end(), xb + slot * code_size, xb + (slot + 1) * code_size);
    }
    ivf->ntotal = static_cast<idx_t>(n);
    if (!ivf->is_trained) return Corruption("vector index: IVF centroids incomplete");
    ivf_ = std::move(ivf);
  }
  live_ = static_cast<size_t>(std::count(alive_.begin(), alive_.end(), 1));
  return Status::OK();
}

}  // namespace lathe::rag
