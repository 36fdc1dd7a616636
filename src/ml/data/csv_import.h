// Importing a user's transactions from CSV (RFC 4180, via libcsv) and
// exporting them back. Every row either reaches `transactions` or is copied
// into `quarantine` with its reason (quarantine.h); a file that cannot be
// read as transactions at all (no header, a required field without a column,
// a --map naming an unknown field) is an error and writes nothing. The file is
// staged in memory before writing. Not thread-safe (one Db).
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>

#include "storage/db.h"

namespace lathe::ml {

struct ImportOptions {
  // CSV column name -> schema field (docs/data.md); columns named like a
  // field map to it without an entry.
  std::map<std::string, std::string> column_to_field;
  // Add customers the customers table does not know instead of quarantining
  // their rows as unknown_customer.
  bool new_customers = false;
  int64_t now = 0;                   // seconds since the epoch; 0 = the wall clock
  int64_t future_tolerance_s = 300;  // a timestamp later than now + this is in the future
};

struct ImportStats {
  int64_t rows = 0;  // data records read (not counting the header)
  int64_t accepted = 0;
  int64_t new_customers = 0;
  std::map<std::string, int64_t> quarantined;  // reason -> rows
  std::vector<std::string> ignored_columns;     // header columns that map to no field
};

// Parses "column=field,column=field". InvalidArgument names a malformed
// entry or an unknown field.
Result<std::map<std::string, std::string>> ParseFieldMap(const std::string& spec);

// Imports path into db. NotFound when the file cannot be opened.
Result<ImportStats> ImportCsv(storage::Db* db, const std::string& path, const ImportOptions& options);

// Writes transactions with from_ts <= ts < to_ts as CSV with a header of
// every field (timestamps as ISO 8601 UTC), ordered by ts then id. Returns rows written.
Result<int64_t> ExportCsv(storage::Db* db, int64_t from_ts, int64_t to_ts, std::ostream& out);

}  // namespace lathe::ml
