// The synthetic transaction generator (model in docs/data.md): customers and
// terminals on a 100x100 map, customers spending at terminals near them with
// their own amount profile and daily/weekly seasonality, and five fraud
// scenarios with delayed labels. Deterministic: a day's transactions depend
// only on the options' seed, customers, terminals and the day itself, so any
// window can be regenerated alone. A World is immutable after Build and safe
// to share across threads.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ml/data/transaction.h"
#include "storage/db.h"

namespace lathe::ml {

struct GeneratorOptions {
  int64_t days = 30;
  int64_t customers = 5000;
  int64_t terminals = 10000;
  uint64_t seed = 1;
  int64_t start_ts = 0;  // 00:00 UTC of the first day (ParseDay)
  // Fraud knobs, per day. Defaults give about 0.6-0.8% fraud overall.
  double large_amount_rate = 0.001;            // share of ordinary transactions
  double compromised_terminals_per_day = 1e-4;  // x terminals
  int compromised_terminal_days = 28;
  double compromised_customers_per_day = 3e-4;  // x customers
  int compromised_customer_days = 14;
  double card_testing_per_day = 2e-4;      // bursts, x customers
  double account_takeovers_per_day = 4e-4;  // x customers
};

// Checks ranges; InvalidArgument names the option.
Status ValidateGeneratorOptions(const GeneratorOptions& o);

struct Customer {
  int64_t id;
  double x, y;
  std::string country;
  double mean_amount, std_amount, tx_per_day, online_share;
  std::vector<int32_t> nearby;  // indexes of physical terminals within World::radius()
  std::vector<int32_t> online;  // indexes of the online merchants the customer uses
};

struct Terminal {
  int64_t id;
  double x, y;
  std::string country;
  std::string merchant_category;
  double amount_factor;  // spending at this kind of merchant relative to the customer's mean
  bool online;
};

class World {
 public:
  static World Build(const GeneratorOptions& options);
  const std::vector<Customer>& customers() const { return customers_; }
  const std::vector<Terminal>& terminals() const { return terminals_; }
  // How far customers travel to a physical terminal: 5 map units, shrunk on
  // maps denser than the default so each customer has about 78 nearby.
  double radius() const { return radius_; }
  // The day's transactions (day_ts = 00:00 UTC), sorted by time, with ids
  // day_number * 1e8 + sequence. Pure function of the world and the day.
  std::vector<Transaction> GenerateDay(int64_t day_ts) const;

 private:
  GeneratorOptions options_;
  std::vector<Customer> customers_;
  std::vector<Terminal> terminals_;
  double radius_ = 5.0;
};

struct GeneratorStats {
  int64_t rows = 0;
  int64_t frauds = 0;
  std::array<int64_t, kScenarioCount> by_scenario{};  // transactions per FraudScenario
  double generate_seconds = 0;  // CPU time spent building transactions
  double seconds = 0;           // wall time, including the database writes
};

// Replaces customers, terminals and the transactions in [start, start+days)
// in db: the world and the emptied window in one transaction, then one bulk
// write per day (generation of the next day overlaps the write), so a failure
// leaves whole days. progress, if set, is called after each day is committed.
Result<GeneratorStats> Generate(storage::Db* db, const GeneratorOptions& options,
                                const std::function<void(int64_t day_ts, const GeneratorStats&)>& progress = {});

}  // namespace lathe::ml
