// Bm25Index: an in-memory inverted index scored with Okapi BM25 (Lucene's idf),
// with a title field folded in BM25F-style (title terms count title_boost
// times). Documents are dense slots appended in order; a removed slot is
// skipped and no longer counted in the statistics. Searching is const and may
// run from many threads; Add/Remove need exclusive access.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/binary_io.h"
#include "common/status.h"
#include "rag/index/scored.h"

namespace lathe::rag {

struct Bm25Params {
  // Tuned on the SciFact training queries (docs/retrieval.md).
  float k1 = 1.2f;
  float b = 0.4f;
  float title_boost = 2.0f;
  bool operator==(const Bm25Params&) const = default;
};

class Bm25Index {
 public:
  explicit Bm25Index(Bm25Params params = {}) : params_(params) {}

  // Appends a document and returns its slot (== previous slots()).
  uint32_t Add(const std::vector<std::string>& title_terms, const std::vector<std::string>& body_terms);
  // Marks slot removed; a second call is a no-op.
  void Remove(uint32_t slot);

  // Top-k slots by BM25 score, best first, over live slots with
  // allowed[slot] != 0 (allowed == nullptr: all live slots; otherwise it has
  // slots() entries). Slots with no matching term are not returned.
  std::vector<ScoredSlot> Search(const std::vector<std::string>& query_terms, size_t k,
                                 const uint8_t* allowed) const;

  // Exact BM25 scores of the given slots (0 for dead slots or no match),
  // written to scores[i] for slots[i].
  void ScoreSlots(const std::vector<std::string>& query_terms, const std::vector<uint32_t>& slots,
                  float* scores) const;

  // Lucene's idf of a term over live slots; a term no live slot contains gets
  // the idf of a term seen once (the most informative), so unknown words count.
  float Idf(const std::string& term) const;
  // Whether the live chunk in slot contains term (title or body); a binary
  // search in the term's postings.
  bool Contains(const std::string& term, uint32_t slot) const;

  size_t slots() const { return doc_len_.size(); }
  size_t live() const { return live_; }
  bool alive(uint32_t slot) const { return slot < alive_.size() && alive_[slot]; }
  size_t vocabulary() const { return term_ids_.size(); }
  const Bm25Params& params() const { return params_; }

  // Drops removed slots: live slot s becomes new_slot[s] (new_slot has
  // slots() entries, ascending over live slots; entries of dead slots are
  // ignored). Scores are unchanged.
  void Compact(const std::vector<uint32_t>& new_slot);

  void Serialize(BinaryWriter* w) const;
  // Corruption when the payload is malformed.
  Status Deserialize(BinaryReader* r);

 private:
  struct Posting {
    uint32_t slot;
    float tf;  // title_boost * title tf + body tf
  };
  Bm25Params params_;
  std::unordered_map<std::string, uint32_t> term_ids_;
  std::vector<std::pair<uint32_t, float>> scratch_;  // Add's term occurrences, reused
  std::vector<std::vector<Posting>> postings_;  // by term id, slots ascending
  std::vector<uint32_t> df_;                    // live documents per term
  std::vector<float> doc_len_;                  // weighted length per slot
  std::vector<uint8_t> alive_;
  std::vector<std::vector<uint32_t>> slot_terms_;  // unique term ids per slot, for Remove
  double total_len_ = 0;
  size_t live_ = 0;
};

}  // namespace lathe::rag
