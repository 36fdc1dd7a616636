#include "app/app_context.h"

#include "common/logging.h"

namespace lathe::app {

Status AppContext::Open() {
  if (catalog) return Status::OK();
  InitLogging(settings.log_level);
  pool = std::make_unique<CpuPool>(settings.threads);
  settings.index.vector.build_threads = static_cast<int>(pool->size());
  LATHE_ASSIGN_OR_RETURN(embedders, rag::EmbedderStore::Create(settings.data_dir, settings.embedder, pool.get(),
                                                                 settings.embedder_override));
  LATHE_ASSIGN_OR_RETURN(catalog, rag::Catalog::Open(settings.data_dir));
  return Status::OK();
}

Result<std::unique_ptr<rag::CollectionIndex>> AppContext::LoadIndex(const std::string& name) {
  LATHE_ASSIGN_OR_RETURN(rag::CollectionInfo collection, catalog->GetCollection(name));
  LATHE_ASSIGN_OR_RETURN(std::shared_ptr<const rag::Embedder> embedder,
                         embedders->ForCollection(catalog.get(), collection));
  if (!embedder) return FailedPrecondition("collection '" + name + "' has no documents yet");
  return rag::CollectionIndex::Load(catalog.get(), collection, settings.data_dir, std::move(embedder), settings.index,
                                    pool.get());
}

}  // namespace lathe::app
