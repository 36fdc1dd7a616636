#include "ml/track/ml_store.h"

namespace lathe::ml {

Result<MlStore> OpenMlStore(const std::string& db_url, const std::string& data_dir) {
  MlStore s;
  LATHE_ASSIGN_OR_RETURN(s.db, storage::OpenDb(db_url, data_dir));
  s.artifacts = std::make_unique<ArtifactStore>(ArtifactStore::InDataDir(data_dir));
  s.tracker = std::make_unique<Tracker>(s.db.get(), s.artifacts.get());
  s.registry = std::make_unique<Registry>(s.db.get(), s.artifacts.get());
  return s;
}

}  // namespace lathe::ml
