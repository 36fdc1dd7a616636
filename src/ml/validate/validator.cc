#include "ml/validate/validator.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>

#include <fmt/format.h>

#include "common/file_util.h"
#include "ml/data/frame.h"
#include "ml/data/quarantine.h"
#include "ml/data/transaction.h"
#include "ml/validate/report.h"

namespace lathe::ml {

nlohmann::json ResultToJson(const ValidationResult& r) {
  nlohmann::json checks = nlohmann::json::array();
  for (const CheckResult& c : r.checks) {
    nlohmann::json j = {{"name", c.name},
                        {"type", CheckTypeName(c.type)},
                        {"column", c.column},
                        {"severity", SeverityName(c.severity)},
                        {"status", CheckStatusName(c.status)},
                        {"expected", c.expected},
                        {"observed", c.observed},
                        {"detail", c.detail}};
    if (c.min) j["min"] = *c.min;
    if (c.max) j["max"] = *c.max;
    if (!c.chart.is_null()) j["chart"] = c.chart;
    checks.push_back(std::move(j));
  }
  return {{"format", "lathe.validation/1"},
          {"suite", r.suite},
          {"day", r.day},
          {"passed", r.passed},
          {"rows", r.rows},
          {"reference", {{"from", FormatTimestamp(r.reference_from)},
                         {"to", FormatTimestamp(r.reference_to)},
                         {"rows", r.reference_rows}}},
          {"summary", {{"checks", r.checks.size()}, {"failed", r.failed}, {"warned", r.warned}, {"skipped", r.skipped}}},
          {"quarantine", r.quarantine},
          {"checks", checks},
          {"created_at", FormatTimestamp(r.created_at)},
          {"seconds", r.seconds}};
}

Result<ValidationResult> Validate(storage::Db* db, const Suite& suite, const ValidateOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  ValidationResult r;
  r.suite = suite.name;
  r.day_ts = options.day_ts;
  r.day = FormatDay(options.day_ts);
  r.created_at = options.now ? options.now : static_cast<int64_t>(std::time(nullptr));
  const int reference_days = options.reference_days > 0 ? options.reference_days : suite.reference_days;
  r.reference_to = options.day_ts;
  r.reference_from = options.day_ts - reference_days * kSecondsPerDay;

  LATHE_ASSIGN_OR_RETURN(std::vector<storage::DbColumn> table_columns, db->Columns(suite.table));
  std::set<std::string> existing;
  for (const storage::DbColumn& c : table_columns) existing.insert(c.name);
  if (!existing.count(suite.timestamp_column))
    return InvalidArgument(fmt::format("suite '{}': table '{}' has no timestamp column '{}'", suite.name, suite.table,
                                       suite.timestamp_column));
  // Load only what the checks read; drift checks also need the reference window.
  std::vector<std::string> columns = {suite.timestamp_column};
  bool drift = false;
  auto want = [&](const std::string& c) {
    if (existing.count(c) && std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
  };
  for (const CheckSpec& s : suite.checks) {
    if (s.type == CheckType::kColumnExists) continue;
    if (!s.column.empty() && s.column != kHourOfDay) want(s.column);
    if (s.type == CheckType::kFraudRate) want(suite.label_column);
    drift = drift || s.type == CheckType::kPsi || s.type == CheckType::kKs;
  }
  const int64_t day_end = options.day_ts + kSecondsPerDay;
  LATHE_ASSIGN_OR_RETURN(Frame current,
                         LoadWindow(db, suite.table, columns, suite.timestamp_column, options.day_ts, day_end));
  Frame reference;
  if (drift) {
    std::vector<std::string> drift_columns = {suite.timestamp_column};
    for (const CheckSpec& s : suite.checks) {
      if ((s.type == CheckType::kPsi || s.type == CheckType::kKs) && existing.count(s.column) &&
          std::find(drift_columns.begin(), drift_columns.end(), s.column) == drift_columns.end())
        drift_columns.push_back(s.column);
    }
    LATHE_ASSIGN_OR_RETURN(reference, LoadWindow(db, suite.table, drift_columns, suite.timestamp_column,
                                                 r.reference_from, r.reference_to));
  }
  r.rows = static_cast<int64_t>(current.rows);
  r.reference_rows = static_cast<int64_t>(reference.rows);
  if (suite.table == "transactions") {
    LATHE_ASSIGN_OR_RETURN(r.quarantine, QuarantineCounts(db, options.day_ts, day_end));
  }
  int64_t quarantined = 0;
  for (const auto& [reason, n] : r.quarantine) quarantined += n;

  CheckInput in;
  in.current = &current;
  in.reference = &reference;
  in.table_columns = &table_columns;
  in.timestamp_column = suite.timestamp_column;
  in.label_column = suite.label_column;
  in.as_of = std::min(r.created_at, day_end);
  in.quarantined = quarantined;
  for (const CheckSpec& s : suite.checks) {
    CheckResult c = RunCheck(s, in);
    if (c.status == CheckStatus::kFailed) (c.severity == Severity::kFail ? r.failed : r.warned)++;
    if (c.status == CheckStatus::kSkipped) ++r.skipped;
    r.checks.push_back(std::move(c));
  }
  r.passed = r.failed == 0;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const std::string dir = options.out_dir + "/" + suite.name;
  LATHE_RETURN_IF_ERROR(EnsureDirectory(dir));
  r.json_path = dir + "/" + r.day + ".json";
  r.html_path = dir + "/" + r.day + ".html";
  const std::string json = ResultToJson(r).dump(2) + "\n";
  LATHE_RETURN_IF_ERROR(AtomicWriteFile(r.json_path, json));
  LATHE_RETURN_IF_ERROR(AtomicWriteFile(r.html_path, RenderHtmlReport(r)));
  LATHE_RETURN_IF_ERROR(
      db->Execute("INSERT INTO validation_results (suite, day, created_at, passed, failed_checks, warned_checks, "
                  "row_count, json_path, html_path, result_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                  {r.suite, r.day, r.created_at, int64_t{r.passed}, int64_t{r.failed}, int64_t{r.warned}, r.rows,
                   r.json_path, r.html_path, json})
          .status());
  LATHE_ASSIGN_OR_RETURN(r.result_id, db->QueryInt("SELECT MAX(result_id) FROM validation_results WHERE suite = $1 "
                                                   "AND day = $2",
                                                   {r.suite, r.day}));
  return r;
}

Result<std::optional<bool>> LatestVerdict(storage::Db* db, const std::string& suite, const std::string& day) {
  std::optional<bool> verdict;
  LATHE_RETURN_IF_ERROR(db->Query("SELECT passed FROM validation_results WHERE suite = $1 AND day = $2 "
                                  "ORDER BY result_id DESC LIMIT 1",
                                  {suite, day}, [&](const storage::DbRow& r) {
                                    verdict = r.Int(0) != 0;
                                    return Status::OK();
                                  }));
  return verdict;
}

}  // namespace lathe::ml
