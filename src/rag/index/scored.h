// ScoredSlot: a (slot, score) pair as returned by the BM25 and vector indexes.
// A slot is a dense per-collection position shared by both indexes.
#pragma once

#include <cstdint>

namespace lathe::rag {

struct ScoredSlot {
  uint32_t slot;
  float score;
};

}  // namespace lathe::rag
