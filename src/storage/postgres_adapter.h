// PostgresAdapter: the Db interface over one libpq connection. SELECTs stream
// through a server-side cursor (20,000 rows a fetch, in a transaction of their
// own unless one is open); bulk writes use COPY FROM STDIN (text format). Not
// thread-safe: one per thread.
#pragma once

#include <memory>
#include <string>

#include "storage/db.h"

namespace lathe::storage {

// Connects to a postgres:// or postgresql:// URL (10 s connect timeout unless
// the URL sets one). InvalidArgument for a URL libpq cannot parse;
// Unavailable when the server cannot be reached or refuses the login.
Result<std::unique_ptr<Db>> OpenPostgresAdapter(const std::string& url);

}  // namespace lathe::storage
