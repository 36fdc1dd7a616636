// Expectation suites: the YAML format of docs/validation.md parsed into
// CheckSpecs. Parsing is strict — an unknown key, check type or severity, a
// value of the wrong type, a missing required key or an invalid regex is an
// InvalidArgument naming the file, the check and the key. Values; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace lathe::ml {

enum class Severity { kWarn, kFail };
const char* SeverityName(Severity s);

enum class CheckType {
  kColumnExists,
  kNotNull,
  kBetween,
  kInSet,
  kUnique,
  kRegex,
  kRowCount,
  kMeanBetween,
  kStddevBetween,
  kFraudRate,
  kFreshness,
  kQuarantineRate,
  kPsi,
  kKs,
};
const char* CheckTypeName(CheckType t);

struct CheckSpec {
  std::string name;  // unique in the suite; defaults to "type(column)"
  CheckType type = CheckType::kRowCount;
  std::string column;  // "hour_of_day" is derived from the timestamp column
  Severity severity = Severity::kFail;
  std::string dtype;  // column_exists: int, float or string (empty: any)
  std::optional<double> min, max;
  double mostly = 1.0;  // share of non-null rows that must pass (not_null: of all rows)
  std::vector<std::string> values;  // in_set
  std::string pattern;              // regex (ECMAScript, whole value)
  int64_t max_age_s = 0;            // freshness
  int bins = 10;                    // psi
};

struct Suite {
  std::string name;
  std::string table = "transactions";
  std::string timestamp_column = "ts";
  std::string label_column = "is_fraud";
  int reference_days = 28;
  std::vector<CheckSpec> checks;
};

// Parses YAML text; source names it in errors.
Result<Suite> ParseSuite(const std::string& yaml, const std::string& source);
// Reads and parses a suite file; NotFound when it cannot be read.
Result<Suite> LoadSuite(const std::string& path);

// "90s", "15m", "36h", "2d" or plain seconds -> seconds; nullopt otherwise.
std::optional<int64_t> ParseDuration(const std::string& text);

}  // namespace lathe::ml
