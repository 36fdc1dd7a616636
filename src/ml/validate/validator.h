// Validate: runs a suite over one day of a table against a reference window
// of the days before it, writes the JSON result and the HTML report, and
// records the result in the validation_results table (so the UI and the
// pipeline can tell which days passed). Not thread-safe (one Db).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ml/validate/checks.h"
#include "ml/validate/suite.h"
#include "storage/db.h"

namespace lathe::ml {

struct ValidateOptions {
  int64_t day_ts = 0;       // 00:00 UTC of the day to validate
  int reference_days = -1;  // -1: the suite's reference_days
  std::string out_dir;      // results go to <out_dir>/<suite>/<YYYY-MM-DD>.{json,html}
  int64_t now = 0;          // seconds; 0 = the wall clock
};

struct ValidationResult {
  std::string suite;
  std::string day;
  int64_t day_ts = 0;
  int64_t reference_from = 0, reference_to = 0;  // [from, to) seconds
  int64_t rows = 0, reference_rows = 0;
  std::vector<CheckResult> checks;
  std::map<std::string, int64_t> quarantine;  // the day's quarantined rows per reason
  int failed = 0;   // checks of severity fail that failed: any makes the day fail
  int warned = 0;   // checks of severity warn that failed
  int skipped = 0;  // drift checks without reference rows
  bool passed = false;
  int64_t created_at = 0;
  double seconds = 0;
  std::string json_path, html_path;
  int64_t result_id = 0;  // row in validation_results
};

// InvalidArgument/NotFound for a suite that names a missing table; I/O
// errors for the database or the output files. A day that fails its checks
// is a successful call with passed == false.
Result<ValidationResult> Validate(storage::Db* db, const Suite& suite, const ValidateOptions& options);

// The verdict training must respect: whether the latest validation of `day`
// (YYYY-MM-DD) with `suite` passed; nullopt when the day was never validated
// (which training must treat as not passed).
Result<std::optional<bool>> LatestVerdict(storage::Db* db, const std::string& suite, const std::string& day);

// The JSON document written to json_path (format in docs/validation.md).
nlohmann::json ResultToJson(const ValidationResult& r);

}  // namespace lathe::ml
