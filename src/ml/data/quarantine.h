// Quarantine: rows that failed import are kept, with the reason, in the
// `quarantine` table (never in `transactions`, so never in training). The
// reasons are a closed list, documented in docs/validation.md. Stateless
// functions; the Db they take is not shared across threads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storage/db.h"

namespace lathe::ml {

namespace reason {
inline constexpr const char* kMissingAmount = "missing_amount";
inline constexpr const char* kNegativeAmount = "negative_amount";
inline constexpr const char* kUnknownCustomer = "unknown_customer";
inline constexpr const char* kFutureTimestamp = "future_timestamp";
inline constexpr const char* kDuplicateId = "duplicate_id";
inline constexpr const char* kMissingField = "missing_field";  // another required field is empty
inline constexpr const char* kMalformed = "malformed";         // unparseable value, bad quoting, wrong field count
}  // namespace reason

// Every reason, in report order.
const std::vector<std::string>& QuarantineReasons();

struct QuarantinedRow {
  std::string source;  // the imported file
  int64_t line = 0;    // 1-based line where the record starts
  std::string reason;  // one of QuarantineReasons()
  std::string detail;  // what exactly was wrong, naming the field and value
  std::optional<int64_t> transaction_id;
  std::optional<int64_t> ts;
  std::string raw;  // the record as it appeared in the file
};

// Appends rows to the quarantine table in one bulk write.
Status WriteQuarantine(storage::Db* db, const std::vector<QuarantinedRow>& rows, int64_t now);

// Rows quarantined per reason whose timestamp falls in [from_ts, to_ts);
// every reason is present (0 when none).
Result<std::map<std::string, int64_t>> QuarantineCounts(storage::Db* db, int64_t from_ts, int64_t to_ts);

}  // namespace lathe::ml
