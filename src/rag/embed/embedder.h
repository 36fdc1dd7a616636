// Embedder: turns texts into fixed-size, L2-normalised float vectors for the
// vector index. Implementations: the built-in HashingEmbedder (no weights), the
// corpus-trained LsaEmbedder, and RemoteEmbedder (remote_embedder.h) for
// OpenAI-compatible /v1/embeddings servers. Implementations must be
// thread-safe: ingestion calls Embed from every worker.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace lathe::rag {

class Embedder {
 public:
  virtual ~Embedder() = default;
  // Dimension of every vector.
  virtual int dim() const = 0;
  // Stable identity of the model and its settings ("hash-v1-d512"); stored
  // with each collection so vectors from different embedders never mix.
  virtual std::string id() const = 0;
  // Writes texts.size() * dim() floats to out, row-major, one row per text.
  // is_query lets asymmetric models treat questions and passages differently.
  virtual Status Embed(const std::vector<std::string>& texts, bool is_query, float* out) const = 0;
  // Embeds one passage from its title and body already run through
  // text::Analyzer with default options (what ingestion has at hand): the
  // same vector as Embed({EmbeddingText(title, text)}, false, out), without
  // analysing the text a second time. Returns false, writing nothing, when
  // the embedder does not work on those terms; callers then use Embed.
  virtual bool EmbedAnalyzed(const std::vector<std::string>& title_terms, const std::vector<std::string>& body_terms,
                             float* out) const {
    return false;
  }
};

struct EmbedderOptions {
  // "lsa": trained on each collection (the default); "hash": training-free.
  std::string kind = "lsa";
  int dim = 256;
  float lsa_sigma_power = 1.0f;  // see LsaOptions::sigma_power
};

// The text an embedder sees for a chunk: its title line, then its body.
inline std::string EmbeddingText(const std::string& title, const std::string& text) { return title + "\n" + text; }

// Builds a stateless embedder ("hash"); InvalidArgument for other kinds.
Result<std::unique_ptr<Embedder>> MakeStatelessEmbedder(const EmbedderOptions& options);

}  // namespace lathe::rag
