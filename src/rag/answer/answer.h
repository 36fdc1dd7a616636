// Answer: what an answerer returns (text, verified citations, abstention),
// with the numbered passages it was given and the citations pointing at them.
// Plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lathe::rag {

// A retrieved chunk as shown to the answerer; n is its 1-based number in the
// prompt, the number a citation "[n]" refers to.
struct Passage {
  int n = 0;
  int64_t chunk_id = 0;
  std::string doc_id;
  std::string title;
  std::string text;
  float score = 0;
};

struct Citation {
  int n = 0;
  int64_t chunk_id = 0;
  std::string doc_id;
  std::string title;
  std::string quote;  // words that occur verbatim (up to case and spacing) in the chunk
};

struct Answer {
  std::string text;
  std::vector<Citation> citations;
  bool abstained = false;
  int removed_citations = 0;  // citations that failed verification and were dropped
};

}  // namespace lathe::rag
