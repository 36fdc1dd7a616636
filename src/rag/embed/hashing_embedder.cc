#include "rag/embed/hashing_embedder.h"

#include <cmath>
#include <cstring>
#include <string_view>
#include <unordered_map>

namespace lathe::rag {
namespace {

// 64-bit FNV-1a with a seed; good spread for short strings, stable everywhere.
uint64_t Hash(std::string_view s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ (seed * 0x9E3779B97F4A7C15ull);
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

}  // namespace

HashingEmbedder::HashingEmbedder(HashingEmbedderOptions options)
    : options_(options), analyzer_(), raw_analyzer_(text::AnalyzerOptions{false, true, 64}) {}

std::string HashingEmbedder::id() const {
  char buf[96];
  std::snprintf(buf, sizeof buf, "hash-v1-d%d-t%.2f-b%.2f-c%.2f-%d%d", options_.dim, options_.term_weight,
                options_.bigram_weight, options_.char_ngram_weight, options_.char_ngram_min, options_.char_ngram_max);
  return buf;
}

void HashingEmbedder::EmbedOne(const std::string& text, float* out) const {
  std::memset(out, 0, sizeof(float) * static_cast<size_t>(options_.dim));
  std::unordered_map<std::string, float> features;
  std::vector<std::string> terms = analyzer_.Analyze(text);
  for (size_t i = 0; i < terms.size(); ++i) {
    features["t:" + terms[i]] += options_.term_weight;
    if (options_.bigram_weight > 0 && i + 1 < terms.size()) {
      features["b:" + terms[i] + " " + terms[i + 1]] += options_.bigram_weight;
    }
  }
  if (options_.char_ngram_weight > 0) {
    for (const std::string& word : raw_analyzer_.Analyze(text)) {
      std::string padded = "<" + word + ">";
      for (int n = options_.char_ngram_min; n <= options_.char_ngram_max; ++n) {
        if (padded.size() < static_cast<size_t>(n)) break;
        for (size_t i = 0; i + static_cast<size_t>(n) <= padded.size(); ++i) {
          features["c:" + padded.substr(i, static_cast<size_t>(n))] += options_.char_ngram_weight;
        }
      }
    }
  }
  for (const auto& [feature, weight] : features) {
    uint64_t h = Hash(feature, 17);
    size_t bucket = h % static_cast<uint64_t>(options_.dim);
    float sign = (h >> 63) ? -1.0f : 1.0f;
    out[bucket] += sign * std::log1p(weight);
  }
  double norm = 0;
  for (int i = 0; i < options_.dim; ++i) norm += double(out[i]) * out[i];
  if (norm > 0) {
    float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (int i = 0; i < options_.dim; ++i) out[i] *= inv;
  }
}

Status HashingEmbedder::Embed(const std::vector<std::string>& texts, bool /*is_query*/, float* out) const {
  for (size_t i = 0; i < texts.size(); ++i) EmbedOne(texts[i], out + i * static_cast<size_t>(options_.dim));
  return Status::OK();
}

Result<std::unique_ptr<Embedder>> MakeStatelessEmbedder(const EmbedderOptions& options) {
  if (options.kind == "hash") {
    if (options.dim < 16 || options.dim > 8192) return InvalidArgument("embedder dim must be in [16, 8192]");
    HashingEmbedderOptions h;
    h.dim = options.dim;
    return std::unique_ptr<Embedder>(new HashingEmbedder(h));
  }
  return InvalidArgument("unknown embedder kind '" + options.kind + "' (expected: hash)");
}

}  // namespace lathe::rag
