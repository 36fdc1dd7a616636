// OnlineFeatures: the same FeatureSpec computed one transaction at a time for
// serving, from per-customer and per-terminal state (recent transactions
// within the spec's windows, last timestamp, terminals and devices seen).
// Labels arrive separately, when they become known. Not thread-safe: one
// caller at a time (a server shards or locks around it).
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "ml/features/feature_spec.h"

namespace lathe::ml {

struct OnlineTransaction {
  int64_t transaction_id = 0;
  int64_t ts = 0;  // seconds, UTC
  int64_t customer_id = 0;
  int64_t terminal_id = 0;
  double amount = 0;
  std::string device_id;  // empty = none
};

class OnlineFeatures {
 public:
  explicit OnlineFeatures(FeatureSpec spec);

  // How much older than its terminal's last transaction a transaction may
  // be: concurrent clients share terminals, so their transactions can reach
  // the server slightly out of order. Such a transaction is placed in order
  // in the terminal's window, and its own features are exact.
  static constexpr int64_t kTerminalLateSeconds = 3600;

  // Returns tx's features (spec order) and adds tx to its customer's and
  // terminal's state. Each customer's transactions must come in ascending
  // (ts, transaction_id) order; a terminal's may be up to
  // kTerminalLateSeconds late. FailedPrecondition names the transaction
  // otherwise, and the state is unchanged. (Transactions already computed
  // before a late one arrived did not see it: with a terminal delay D of at
  // least kTerminalLateSeconds they would not have anyway.)
  Result<std::vector<float>> Add(const OnlineTransaction& tx);

  // Records that transaction_id (at terminal_id) was fraud, known from
  // label_ts on. Returns false (and changes nothing) when that transaction
  // is not in the terminal's state: unknown, or older than any window needs.
  bool AddFraudLabel(int64_t terminal_id, int64_t transaction_id, int64_t label_ts);

  size_t customers() const { return customers_.size(); }
  size_t terminals() const { return terminals_.size(); }

 private:
  struct CustomerTx {
    int64_t ts, id;
    double amount;
  };
  struct Customer {
    std::deque<CustomerTx> recent;  // ts > last ts - customer_span_
    int64_t last_ts = std::numeric_limits<int64_t>::min(), last_id = 0;
    bool any = false;
    std::unordered_set<int64_t> terminals;
    std::unordered_set<std::string> devices;
  };
  struct TerminalTx {
    int64_t ts, id;
    int64_t fraud_known_at = std::numeric_limits<int64_t>::max();  // label_ts of a fraud label
  };
  struct Terminal {
    std::deque<TerminalTx> recent;  // (ts, id) order; ts > last ts - terminal_span_ - kTerminalLateSeconds
    int64_t last_ts = std::numeric_limits<int64_t>::min(), last_id = 0;
    bool any = false;
  };

  // Constant after construction.
  FeatureSpec spec_;
  int64_t customer_span_ = 0;  // longest customer window
  int64_t terminal_span_ = 0;  // longest delay + window

  std::unordered_map<int64_t, Customer> customers_;
  std::unordered_map<int64_t, Terminal> terminals_;
};

}  // namespace lathe::ml
