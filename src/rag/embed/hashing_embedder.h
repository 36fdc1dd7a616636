// HashingEmbedder: a training-free local embedder. Each text becomes a sparse
// bag of features (stemmed terms, adjacent-term bigrams and character n-grams
// of each word), weighted by log term frequency, signed-hashed into `dim`
// buckets and L2-normalised. Deterministic across runs and machines; needs no
// downloaded weights; stateless and thread-safe.
#pragma once

#include "rag/embed/embedder.h"
#include "text/analyzer.h"

namespace lathe::rag {

struct HashingEmbedderOptions {
  int dim = 512;
  float term_weight = 1.0f;
  float bigram_weight = 0.5f;
  float char_ngram_weight = 0.3f;
  int char_ngram_min = 3;
  int char_ngram_max = 5;
};

class HashingEmbedder : public Embedder {
 public:
  explicit HashingEmbedder(HashingEmbedderOptions options = {});
  int dim() const override { return options_.dim; }
  std::string id() const override;
  Status Embed(const std::vector<std::string>& texts, bool is_query, float* out) const override;

  // Embeds one text into out[0..dim).
  void EmbedOne(const std::string& text, float* out) const;

 private:
  HashingEmbedderOptions options_;
  text::Analyzer analyzer_;
  text::Analyzer raw_analyzer_;  // folded words without stemming, for char n-grams
};

}  // namespace lathe::rag
