// The one ordered list of schema migrations for the ML stores, applied to
// SQLite and PostgreSQL alike (tables documented in docs/formats.md). Each
// migration runs once, in a transaction, and is recorded in db_migrations.
#pragma once

#include <string>
#include <vector>

#include "storage/db.h"

namespace lathe::storage {

struct Migration {
  int version;
  std::string name;
  // Portable SQL; the token {{ID}} becomes the engine's auto-increment key.
  std::string sql;
};

const std::vector<Migration>& Migrations();

// Applies every migration newer than the database's; a database written by
// a newer Lathe (unknown version) is FailedPrecondition.
Status Migrate(Db* db);

}  // namespace lathe::storage
