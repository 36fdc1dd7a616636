// EmbedderStore: hands out the embedder of each collection. Stateless kinds
// ("hash") share one instance; trained kinds ("lsa") keep one model file per
// collection under <data_dir>/models/, trained on the collection's first
// ingest. A missing or damaged model file is retrained from the catalog's
// chunks (with a log line). Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/cpu_pool.h"
#include "rag/embed/embedder.h"
#include "rag/embed/lsa_embedder.h"
#include "rag/index/catalog.h"

namespace lathe::rag {

class EmbedderStore {
 public:
  // Fails on an unknown embedder kind or bad dimension. With fixed set (a
  // remote embedder), every collection uses it and options are ignored.
  static Result<std::unique_ptr<EmbedderStore>> Create(std::string data_dir, EmbedderOptions options, CpuPool* pool,
                                                       std::shared_ptr<const Embedder> fixed = nullptr);

  bool trainable() const { return !stateless_ && options_.kind == "lsa"; }

  // The collection's embedder. For a trained kind with no model yet: when the
  // collection has chunks, trains one from them; otherwise returns nullptr
  // (the caller trains with Train on the texts it is about to ingest). A model
  // is also retrained once the collection has grown to more than twice the
  // chunks it was trained on.
  Result<std::shared_ptr<const Embedder>> ForCollection(Catalog* catalog, const CollectionInfo& collection);

  // Trains and saves the collection's model from texts; replaces any cached one.
  // Texts too few or too uniform to learn from get the hashing embedder instead
  // (with a warning).
  Result<std::shared_ptr<const Embedder>> Train(const CollectionInfo& collection, const std::vector<std::string>& texts);
  // As Train, from the chunks' analysed terms (see LsaEmbedder::TrainOnTerms).
  Result<std::shared_ptr<const Embedder>> TrainOnTerms(const CollectionInfo& collection,
                                                       std::vector<std::vector<std::string>> analyzed);

  std::string ModelPath(int64_t collection_id) const;

 private:
  EmbedderStore(std::string data_dir, EmbedderOptions options, CpuPool* pool)
      : data_dir_(std::move(data_dir)), options_(std::move(options)), pool_(pool) {}

  const std::string data_dir_;
  const EmbedderOptions options_;
  CpuPool* const pool_;
  std::shared_ptr<const Embedder> stateless_;  // constant after Create

  std::mutex mu_;
  std::map<int64_t, std::shared_ptr<const LsaEmbedder>> models_;  // guarded by mu_
};

}  // namespace lathe::rag
