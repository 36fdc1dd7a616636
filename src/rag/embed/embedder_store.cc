#include "rag/embed/embedder_store.h"

#include "common/logging.h"

namespace lathe::rag {

Result<std::unique_ptr<EmbedderStore>> EmbedderStore::Create(std::string data_dir, EmbedderOptions options,
                                                             CpuPool* pool, std::shared_ptr<const Embedder> fixed) {
  std::unique_ptr<EmbedderStore> store(new EmbedderStore(std::move(data_dir), options, pool));
  if (fixed) {
    store->stateless_ = std::move(fixed);
    return store;
  }
  if (options.kind == "lsa") {
    if (options.dim < 2 || options.dim > 4096) return InvalidArgument("embedder dim must be in [2, 4096]");
    return store;
  }
  LATHE_ASSIGN_OR_RETURN(auto embedder, MakeStatelessEmbedder(options));
  store->stateless_ = std::move(embedder);
  return store;
}

std::string EmbedderStore::ModelPath(int64_t collection_id) const {
  return data_dir_ + "/models/collection-" + std::to_string(collection_id) + ".lsa";
}

Result<std::shared_ptr<const Embedder>> EmbedderStore::Train(const CollectionInfo& collection,
                                                             const std::vector<std::string>& texts) {
  text::Analyzer analyzer;
  std::vector<std::vector<std::string>> analyzed(texts.size());
  pool_->ParallelFor(texts.size(), [&](size_t i) { analyzed[i] = analyzer.Analyze(texts[i]); }, 32);
  return TrainOnTerms(collection, std::move(analyzed));
}

Result<std::shared_ptr<const Embedder>> EmbedderStore::TrainOnTerms(const CollectionInfo& collection,
                                                                    std::vector<std::vector<std::string>> analyzed) {
  LsaOptions lsa;
  lsa.dim = options_.dim;
  lsa.sigma_power = options_.lsa_sigma_power;
  const size_t count = analyzed.size();
  auto trained = LsaEmbedder::TrainOnTerms(std::move(analyzed), lsa, pool_);
  if (!trained.ok()) {
    LOG_WARN("collection '{}': {}; using the hashing embedder until it grows", collection.name,
             trained.status().message());
    LATHE_ASSIGN_OR_RETURN(auto fallback, MakeStatelessEmbedder(EmbedderOptions{"hash", 256}));
    return std::shared_ptr<const Embedder>(std::move(fallback));
  }
  auto model = std::move(trained).value();
  LATHE_RETURN_IF_ERROR(model->Save(ModelPath(collection.id)));
  LOG_INFO("collection '{}': trained embedder {} on {} chunks ({} terms)", collection.name, model->id(), count,
           model->vocabulary());
  std::shared_ptr<const LsaEmbedder> shared = std::move(model);
  std::lock_guard<std::mutex> lock(mu_);
  models_[collection.id] = shared;
  return std::shared_ptr<const Embedder>(shared);
}

Result<std::shared_ptr<const Embedder>> EmbedderStore::ForCollection(Catalog* catalog, const CollectionInfo& collection) {
  if (stateless_) return stateless_;
  auto outgrown = [&](const LsaEmbedder& m) {
    return collection.chunks > 2 * static_cast<int64_t>(m.trained_on()) && collection.chunks >= 16;
  };
  std::string why;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = models_.find(collection.id);
    if (it != models_.end() && !outgrown(*it->second)) return std::shared_ptr<const Embedder>(it->second);
  }
  auto loaded = LsaEmbedder::Load(ModelPath(collection.id));
  if (loaded.ok() && !outgrown(**loaded)) {
    std::shared_ptr<const LsaEmbedder> shared = std::move(loaded).value();
    std::lock_guard<std::mutex> lock(mu_);
    models_[collection.id] = shared;
    return std::shared_ptr<const Embedder>(shared);
  }
  if (collection.chunks == 0) return std::shared_ptr<const Embedder>();
  if (loaded.ok()) {
    LOG_INFO("collection '{}': {} chunks now, embedder was trained on {}; retraining", collection.name,
             collection.chunks, (*loaded)->trained_on());
  } else if (loaded.status().code() != StatusCode::kNotFound) {
    LOG_WARN("collection '{}': embedder model unusable ({}); retraining from the catalog", collection.name,
             loaded.status().message());
  }
  std::vector<std::string> texts;
  LATHE_RETURN_IF_ERROR(catalog->ScanChunks(collection.id, [&](ChunkRecord&& r) {
    texts.push_back(EmbeddingText(r.title, r.text));
  }));
  return Train(collection, texts);
}

}  // namespace lathe::rag
