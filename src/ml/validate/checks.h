// Evaluating one expectation (CheckSpec) over a day's Frame, and a reference
// window's Frame for drift. Each result carries what was expected, what was
// observed and a detail line naming examples of offending values. Pure
// functions of their inputs; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ml/data/frame.h"
#include "ml/validate/suite.h"
#include "storage/db.h"

namespace lathe::ml {

enum class CheckStatus { kPassed, kFailed, kSkipped };
const char* CheckStatusName(CheckStatus s);

struct CheckResult {
  std::string name;
  CheckType type = CheckType::kRowCount;
  std::string column;
  Severity severity = Severity::kFail;
  CheckStatus status = CheckStatus::kFailed;
  std::string expected;      // human-readable expectation
  std::optional<double> min, max;  // the spec's bounds, for charts (thresholds)
  nlohmann::json observed;   // the measured value (number or string)
  std::string detail;        // counts and examples behind the verdict
  nlohmann::json chart;      // drift only: data the report draws
};

struct CheckInput {
  const Frame* current = nullptr;
  const Frame* reference = nullptr;  // empty frame when there is no reference window
  const std::vector<storage::DbColumn>* table_columns = nullptr;
  std::string timestamp_column = "ts";
  std::string label_column = "is_fraud";
  int64_t as_of = 0;        // freshness is measured against this time (seconds)
  int64_t quarantined = 0;  // rows of the day held in quarantine
};

// The column name that is computed, not stored: hour of day (0-23, UTC) of
// the timestamp column.
inline constexpr const char* kHourOfDay = "hour_of_day";

CheckResult RunCheck(const CheckSpec& spec, const CheckInput& in);

}  // namespace lathe::ml
