// VectorIndex: inner-product search over L2-normalised vectors with FAISS.
// Exact (IndexFlatIP) while small; HNSW (IndexHNSWFlat) once the collection
// passes hnsw_threshold vectors. Vectors are dense slots shared with the BM25
// index; removed slots and filters are excluded inside the search through a
// FAISS IDSelector, and very selective filters fall back to exact scoring of
// the allowed slots, so k results come back whenever k exist. Search is const
// and thread-safe; Add/Remove/Optimize need exclusive access.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/binary_io.h"
#include "common/status.h"
#include "rag/index/scored.h"

namespace faiss { struct Index; }

namespace lathe::rag {

struct VectorIndexOptions {
  size_t hnsw_threshold = 20000;  // vectors above which HNSW replaces exact search
  int hnsw_m = 32;
  int ef_construction = 80;
  int ef_search = 128;
  // Filters that allow fewer slots than this fraction are scored exactly.
  float exact_filter_fraction = 0.05f;
  int build_threads = 0;  // threads for building the HNSW graph; 0: all cores
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
  // Switches to HNSW when the size passed the threshold (rebuilds the graph).
  void Optimize();

  // Top-k live slots by inner product with query (dim floats), best first,
  // restricted to allowed[slot] != 0 when allowed is not null.
  std::vector<ScoredSlot> Search(const float* query, size_t k, const uint8_t* allowed) const;
  // Exact top-k, ignoring the approximate structure (for recall measurement).
  std::vector<ScoredSlot> SearchExact(const float* query, size_t k, const uint8_t* allowed) const;

  size_t slots() const { return alive_.size(); }
  size_t live() const { return live_; }
  bool is_hnsw() const { return hnsw_; }
  const float* vector(uint32_t slot) const;
  void set_ef_search(int ef);

  void Serialize(BinaryWriter* w) const;
  Status Deserialize(BinaryReader* r);

 private:
  void BuildHnsw();
  int dim_;
  VectorIndexOptions options_;
  std::unique_ptr<faiss::Index> index_;
  bool hnsw_ = false;
  std::vector<uint8_t> alive_;
  size_t live_ = 0;
};

}  // namespace lathe::rag
