// LsaEmbedder: a local embedder trained on the collection itself by latent
// semantic analysis. Training builds the TF-IDF matrix of the chunks (stemmed
// terms), takes its top-`dim` singular directions by randomised SVD (Eigen),
// and keeps one vector per vocabulary term. A text embeds as the TF-IDF-weighted
// sum of its terms' vectors, L2-normalised, so related words that never co-occur
// with the query still pull documents closer. Deterministic for a seed; needs
// no downloaded weights. Immutable after Train/Load; Embed is thread-safe.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/cpu_pool.h"
#include "rag/embed/embedder.h"
#include "text/analyzer.h"

namespace lathe::rag {

struct LsaOptions {
  int dim = 256;                 // singular directions kept (fewer for tiny corpora)
  int min_df = 2;                // terms in fewer chunks are dropped
  double max_df_fraction = 0.5;  // terms in more than this share of chunks are dropped
  int max_vocabulary = 100000;
  int oversample = 24;
  int power_iterations = 1;
  float sigma_power = 1.0f;      // 1: coordinates are U*Sigma; 0: U (whitened)
  uint64_t seed = 42;
};

class LsaEmbedder : public Embedder {
 public:
  static constexpr uint32_t kFormatVersion = 1;

  // Trains on texts (one per chunk). InvalidArgument when the texts share too
  // few terms to learn anything (fewer than 2 usable terms or 2 texts).
  static Result<std::unique_ptr<LsaEmbedder>> Train(const std::vector<std::string>& texts, const LsaOptions& options,
                                                    CpuPool* pool);
  // As Train, from texts already run through text::Analyzer with default
  // options (what the ingester has at hand); the lists are consumed.
  static Result<std::unique_ptr<LsaEmbedder>> TrainOnTerms(std::vector<std::vector<std::string>> analyzed,
                                                           const LsaOptions& options, CpuPool* pool);
  // NotFound when path is missing, Corruption when damaged.
  static Result<std::unique_ptr<LsaEmbedder>> Load(const std::string& path);
  Status Save(const std::string& path) const;

  int dim() const override { return dim_; }
  std::string id() const override { return id_; }
  Status Embed(const std::vector<std::string>& texts, bool is_query, float* out) const override;
  bool EmbedAnalyzed(const std::vector<std::string>& title_terms, const std::vector<std::string>& body_terms,
                     float* out) const override;

  size_t vocabulary() const { return term_ids_.size(); }
  // Number of texts the model was trained on.
  uint64_t trained_on() const { return trained_on_; }

 private:
  LsaEmbedder() = default;
  void ComputeId();
  // TF-IDF-weighted sum of the term vectors of the given term lists (taken
  // in order, as one text), L2-normalised.
  void EmbedTerms(std::initializer_list<const std::vector<std::string>*> lists, float* out) const;

  int dim_ = 0;
  uint64_t trained_on_ = 0;
  std::string id_;
  text::Analyzer analyzer_;
  std::unordered_map<std::string, uint32_t> term_ids_;
  std::vector<std::string> terms_;   // by id
  std::vector<float> idf_;           // by id
  std::vector<float> term_vectors_;  // vocabulary x dim, row-major
};

}  // namespace lathe::rag
