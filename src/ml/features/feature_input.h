// FeatureInput: the transaction columns the features read, in any row order
// — filled from generated Transactions, from a Frame loaded by LoadWindow, or
// straight from the database. Pure values; safe to read from many threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "ml/data/frame.h"
#include "ml/data/transaction.h"
#include "storage/db.h"

namespace lathe::ml {

struct FeatureInput {
  std::vector<int64_t> transaction_id;
  std::vector<int64_t> ts;  // seconds, UTC
  std::vector<int64_t> customer_id;
  std::vector<int64_t> terminal_id;
  std::vector<double> amount;
  std::vector<int32_t> device;    // a code per distinct device id; -1 = none
  std::vector<uint8_t> is_fraud;  // the label as eventually known
  std::vector<int64_t> label_ts;  // when the label became known; 0 = never charged back

  size_t size() const { return ts.size(); }
};

// The `transactions` columns FromFrame needs.
const std::vector<std::string>& FeatureInputColumns();

FeatureInput FromTransactions(const std::vector<Transaction>& txs);
// InvalidArgument names a missing column or a NULL in a required one
// (device_id and label_ts may be NULL).
Result<FeatureInput> FromFrame(const Frame& frame);
// Transactions with from_ts <= ts < to_ts (LoadWindow, then FromFrame).
Result<FeatureInput> LoadFeatureInput(storage::Db* db, int64_t from_ts, int64_t to_ts);

}  // namespace lathe::ml
