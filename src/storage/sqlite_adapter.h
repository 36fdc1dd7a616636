// SqliteAdapter: the Db interface over one SqliteDb connection (WAL,
// synchronous=FULL). Not thread-safe: one per thread.
#pragma once

#include <memory>
#include <string>

#include "storage/db.h"
#include "storage/sqlite_db.h"

namespace lathe::storage {

// Opens (creating) the file at path; the directory must exist.
Result<std::unique_ptr<Db>> OpenSqliteAdapter(const std::string& path);

}  // namespace lathe::storage
