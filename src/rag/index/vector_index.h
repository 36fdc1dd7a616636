// VectorIndex: inner-product search over L2-normalised vectors with FAISS.
// Every vector lives in an exact store (IndexFlatIP, also used for exact
// search, feedback and recall checks). Once a collection passes ann_threshold
// vectors an IVF-Flat index (k-means cells, nprobe cells visited per query) is
// built beside it and answers searches; bench/ann_choice.cc shows why IVF and
// not HNSW on these vectors. Vectors are dense slots shared with the BM25
// index; removed slots and filters are excluded inside the search through a
// FAISS IDSelector, very selective filters are scored exactly over the
// allowed slots, and a search that finds fewer than k falls back to exact, so
// k results come back whenever k exist. Search is const and thread-safe;
// Add/Remove/Optimize need exclusive access.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/binary_io.h"
#include "common/status.h"
#include "rag/index/scored.h"

namespace faiss {
struct IndexFlat;
struct IndexIVFFlat;
}  // namespace faiss

namespace lathe::rag {

struct VectorIndexOptions {
  size_t ann_threshold = 30000;  // vectors above which IVF replaces exact search
  int ivf_cells_per_sqrt = 4;    // nlist = ivf_cells_per_sqrt * sqrt(n)
  int nprobe = 128;              // cells visited per query (capped at nlist)
  // Filters that allow fewer slots than this fraction are scored exactly.
  float exact_filter_fraction = 0.05f;
  int build_threads = 0;  // threads for training and filling IVF; 0: all cores
  // Exact search: one matrix-vector product with Eigen (vectorised), or
  // FAISS's IndexFlatIP, whose single-query path in Debian's baseline build
  // is a scalar loop (bench/search_latency --exact-kernel; benchmarks.md).
  enum class ExactKernel { kEigen, kFaiss } exact_kernel = ExactKernel::kEigen;
};

class VectorIndex {
 public:
  VectorIndex(int dim, VectorIndexOptions options = {});
  ~VectorIndex();
  VectorIndex(VectorIndex&&) noexcept;
  VectorIndex& operator=(VectorIndex&&) noexcept;

  int dim() const { return dim_; }
  // Appends n vectors (n * dim floats); their slots follow the previous ones.
  void Add(const float* vectors, size_t n);
  void Remove(uint32_t slot);
  // Builds the IVF index when the size passed the threshold and none exists.
  void Optimize();

  // Top-k live slots by inner product with query (dim floats), best first,
  // restricted to allowed[slot] != 0 when allowed is not null.
  std::vector<ScoredSlot> Search(const float* query, size_t k, const uint8_t* allowed) const;
  // Exact top-k from the flat store, ignoring IVF (for recall measurement).
  std::vector<ScoredSlot> SearchExact(const float* query, size_t k, const uint8_t* allowed) const;

  size_t slots() const { return alive_.size(); }
  size_t live() const { return live_; }
  bool is_approximate() const { return ivf_ != nullptr; }
  size_t nlist() const;
  // The stored vector of a slot (dim floats), valid until the next Add.
  const float* vector(uint32_t slot) const;
  void set_nprobe(int nprobe) { options_.nprobe = nprobe; }

  // Drops removed slots, keeping live ones in order (as Bm25Index::Compact).
  // An IVF index keeps its trained cells and is refilled.
  void Compact();

  void Serialize(BinaryWriter* w) const;
  Status Deserialize(BinaryReader* r);

 private:
  void BuildIvf();
  std::vector<ScoredSlot> SearchAllowedExactly(const float* query, size_t k, const uint8_t* allowed) const;

  int dim_;
  VectorIndexOptions options_;
  std::unique_ptr<faiss::IndexFlat> flat_;
  std::unique_ptr<faiss::IndexIVFFlat> ivf_;  // null while exact search suffices
  std::vector<uint8_t> alive_;
  size_t live_ = 0;
};

}  // namespace lathe::rag
