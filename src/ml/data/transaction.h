// The transaction schema (one row of the `transactions` table, see
// docs/data.md), the fraud scenario names, and UTC day/timestamp helpers
// shared by the generator, import/export and validation. Pure values and
// functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/db.h"

namespace lathe::ml {

constexpr int64_t kSecondsPerDay = 86400;

enum class FraudScenario : uint8_t {
  kNone = 0,
  kLargeAmount,          // one unusually large amount for the customer
  kCompromisedTerminal,  // every transaction at a skimmed terminal, for weeks
  kCompromisedCustomer,  // stolen credentials: a third of the customer's spending, inflated
  kCardTesting,          // bursts of tiny online amounts that probe a stolen card
  kAccountTakeover,      // a new device in a foreign country spending big
};
constexpr int kScenarioCount = 6;
std::string_view ScenarioName(FraudScenario s);
std::optional<FraudScenario> ParseScenario(std::string_view name);

struct Transaction {
  int64_t transaction_id = 0;
  int64_t ts = 0;  // seconds since the Unix epoch, UTC
  int64_t customer_id = 0;
  int64_t terminal_id = 0;
  double amount = 0;
  std::string currency;           // ISO 4217
  std::string channel;            // "card_present" or "online"
  std::string merchant_category;  // ISO 18245 merchant category code, e.g. "5411"
  std::string country;            // ISO 3166 alpha-2 where the transaction came from
  std::string device_id;          // empty = NULL (card-present transactions carry none)
  bool is_fraud = false;
  FraudScenario scenario = FraudScenario::kNone;
  int64_t label_ts = 0;  // when the fraud label became known (chargeback); 0 = NULL (never charged back)
};

// The columns of `transactions` in table order.
const std::array<std::string, 13>& TransactionColumns();

// Appends one row in TransactionColumns() order.
Status WriteTransaction(storage::BulkWriter* w, const Transaction& t);

// "YYYY-MM-DD" -> seconds at 00:00 UTC that day. InvalidArgument names the text.
Result<int64_t> ParseDay(std::string_view day);
// seconds -> "YYYY-MM-DD" (UTC).
std::string FormatDay(int64_t ts);
// seconds -> "YYYY-MM-DDTHH:MM:SSZ".
std::string FormatTimestamp(int64_t ts);
// Accepts "YYYY-MM-DDTHH:MM:SS[Z]", "YYYY-MM-DD HH:MM:SS" (UTC), or integer
// seconds since the epoch. nullopt for anything else.
std::optional<int64_t> ParseTimestamp(std::string_view text);

}  // namespace lathe::ml
