// FeatureSpec: the fraud model's features as data — a YAML file (format in
// docs/features.md, shipped as features/fraud.yaml) parsed into a list of
// FeatureDefs that both the batch and the online computation interpret.
// Pure values; thread-safe.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lathe::ml {

enum class FeatureKind {
  kAmount,             // the transaction's amount
  kCustomerCount,      // customer's transactions in (t-W, t], this one included
  kCustomerSum,        // their summed amount
  kCustomerMean,       // sum / count
  kAmountZscore,       // (amount - mean) / stddev of the customer's earlier amounts in (t-W, t)
  kTimeSincePrevious,  // seconds since the customer's previous transaction
  kTxPerHour,          // customer count over (t-W, t] / (W in hours)
  kFirstTerminal,      // 1 if the customer never used this terminal before, else 0
  kFirstDevice,        // 1 if the transaction has a device the customer never used before, else 0
  kTerminalRisk,       // frauds known by t / transactions, at the terminal in (t-D-W, t-D]
  kTerminalCount,      // transactions at the terminal in (t-D-W, t-D]
  kNight,              // 1 if the UTC hour is in [from_hour, to_hour) (wrapping midnight), else 0
  kWeekend,            // 1 on Saturday or Sunday (UTC), else 0
};
std::string_view FeatureKindName(FeatureKind kind);
// Customer kinds read the customer's history, terminal kinds the terminal's;
// the rest read only the transaction itself.
bool IsCustomerKind(FeatureKind kind);
bool IsTerminalKind(FeatureKind kind);

struct FeatureDef {
  std::string name;  // column name in the feature matrix; unique in a spec
  FeatureKind kind = FeatureKind::kAmount;
  int64_t window_s = 0;  // W, seconds (windowed kinds)
  int64_t delay_s = 0;   // D, seconds (terminal kinds)
  int from_hour = 0;     // kNight
  int to_hour = 6;       // kNight
  float missing = NAN;   // value when the feature is undefined (see docs/features.md)
};

struct FeatureSpec {
  std::string name;
  std::vector<FeatureDef> features;
  std::vector<std::string> Names() const;
  // How much history before a row the features can read (max of W and
  // D + W): load this much before the first row you train on.
  int64_t LookbackSeconds() const;
};

// Parses YAML text; source names it in errors. InvalidArgument names the
// feature (by position and name), the key and what is wrong with its value.
Result<FeatureSpec> ParseFeatureSpec(const std::string& yaml, const std::string& source);
// Reads and parses a spec file; NotFound when it cannot be read.
Result<FeatureSpec> LoadFeatureSpec(const std::string& path);

}  // namespace lathe::ml
