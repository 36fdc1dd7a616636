// MlStore: the ML store opened as one unit — a connection to the database,
// the data directory's artifact folder, and the Tracker and Registry over
// them — as every command, pipeline task and the model server's loader use
// it. One MlStore is one connection: not thread-safe; open one per thread.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "ml/track/artifact_store.h"
#include "ml/track/registry.h"
#include "ml/track/tracker.h"
#include "storage/db.h"

namespace lathe::ml {

struct MlStore {
  std::unique_ptr<storage::Db> db;
  std::unique_ptr<ArtifactStore> artifacts;
  std::unique_ptr<Tracker> tracker;
  std::unique_ptr<Registry> registry;
};

// Opens db_url (storage::OpenDb: "" = DATA_DIR/lathe.db, migrations applied)
// and DATA_DIR/artifacts.
Result<MlStore> OpenMlStore(const std::string& db_url, const std::string& data_dir);

}  // namespace lathe::ml
