#include "ml/data/quarantine.h"

namespace lathe::ml {

const std::vector<std::string>& QuarantineReasons() {
  static const std::vector<std::string> kReasons = {reason::kMissingAmount,    reason::kNegativeAmount,
                                                    reason::kUnknownCustomer,  reason::kFutureTimestamp,
                                                    reason::kDuplicateId,      reason::kMissingField,
                                                    reason::kMalformed};
  return kReasons;
}

Status WriteQuarantine(storage::Db* db, const std::vector<QuarantinedRow>& rows, int64_t now) {
  if (rows.empty()) return Status::OK();
  LATHE_ASSIGN_OR_RETURN(auto w, db->BulkInsert("quarantine", {"source", "line", "reason", "detail", "transaction_id",
                                                               "ts", "raw", "quarantined_at"}));
  for (const QuarantinedRow& r : rows) {
    w->Text(r.source);
    w->Int(r.line);
    w->Text(r.reason);
    w->Text(r.detail);
    if (r.transaction_id) {
      w->Int(*r.transaction_id);
    } else {
      w->Null();
    }
    if (r.ts) {
      w->Int(*r.ts);
    } else {
      w->Null();
    }
    w->Text(r.raw);
    w->Int(now);
    LATHE_RETURN_IF_ERROR(w->EndRow());
  }
  return w->Finish();
}

Result<std::map<std::string, int64_t>> QuarantineCounts(storage::Db* db, int64_t from_ts, int64_t to_ts) {
  std::map<std::string, int64_t> counts;
  for (const std::string& r : QuarantineReasons()) counts[r] = 0;
  LATHE_RETURN_IF_ERROR(db->Query("SELECT reason, COUNT(*) FROM quarantine WHERE ts >= $1 AND ts < $2 GROUP BY reason",
                                  {from_ts, to_ts}, [&](const storage::DbRow& row) {
                                    counts[std::string(row.Text(0))] = row.Int(1);
                                    return Status::OK();
                                  }));
  return counts;
}

}  // namespace lathe::ml
