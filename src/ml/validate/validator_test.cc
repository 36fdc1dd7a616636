// Validate end to end over generated data in SQLite and PostgreSQL: every
// check type passing and failing, drift on a shifted day, results stored,
// reports written.
#include "ml/validate/validator.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "db_fixture.h"
#include "ml/data/csv_import.h"
#include "ml/data/generator.h"
#include "ml/validate/report.h"

namespace lathe::ml {
namespace {

class ValidatorTest : public test::EngineTest {
 protected:
  void SetUp() override {
    test::EngineTest::SetUp();
    if (HasFatalFailure()) return;
    GeneratorOptions o;
    o.customers = 300;
    o.terminals = 600;
    o.days = 10;
    o.seed = 3;
    o.start_ts = *ParseDay("2026-02-01");
    auto stats = Generate(db_.get(), o);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    day_ = o.start_ts + 9 * kSecondsPerDay;  // the last day, with 9 days before it
  }

  ValidationResult Run(const std::string& yaml, int reference_days = 9) {
    auto suite = ParseSuite(yaml, "test.yaml");
    EXPECT_TRUE(suite.ok()) << suite.status().ToString();
    ValidateOptions options;
    options.day_ts = day_;
    options.reference_days = reference_days;
    options.out_dir = dir_ / "validation";
    options.now = day_ + 30 * kSecondsPerDay;
    auto r = Validate(db_.get(), *suite, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : ValidationResult();
  }

  static const CheckResult* Find(const ValidationResult& r, const std::string& name) {
    for (const CheckResult& c : r.checks) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }

  int64_t day_ = 0;
};

// One passing and one failing instance of every check type.
constexpr const char* kEveryType = R"(
suite: every_type
checks:
  - {name: pass_column_exists, type: column_exists, column: amount, dtype: float}
  - {name: fail_column_exists, type: column_exists, column: amount, dtype: int}
  - {name: fail_column_missing, type: column_exists, column: no_such_column}
  - {name: pass_not_null, type: not_null, column: amount}
  - {name: fail_not_null, type: not_null, column: device_id, mostly: 0.9}
  - {name: pass_between, type: between, column: amount, min: 0, max: 1000000}
  - {name: fail_between, type: between, column: amount, min: 0, max: 10}
  - {name: pass_in_set, type: in_set, column: channel, values: [card_present, online]}
  - {name: fail_in_set, type: in_set, column: channel, values: [online]}
  - {name: pass_unique, type: unique, column: transaction_id}
  - {name: fail_unique, type: unique, column: customer_id}
  - {name: pass_regex, type: regex, column: country, pattern: "[A-Z]{2}"}
  - {name: fail_regex, type: regex, column: country, pattern: "US"}
  - {name: pass_row_count, type: row_count, min: 100, max: 100000}
  - {name: fail_row_count, type: row_count, min: 1000000}
  - {name: pass_mean, type: mean_between, column: amount, min: 5, max: 500}
  - {name: fail_mean, type: mean_between, column: amount, min: 500}
  - {name: pass_stddev, type: stddev_between, column: amount, min: 1, max: 5000}
  - {name: fail_stddev, type: stddev_between, column: amount, max: 1}
  - {name: pass_fraud_rate, type: fraud_rate, min: 0, max: 0.2}
  - {name: fail_fraud_rate, type: fraud_rate, min: 0.5}
  - {name: pass_freshness, type: freshness, max_age: 3h}
  - {name: fail_freshness, type: freshness, max_age: 0s}
  - {name: pass_quarantine_rate, type: quarantine_rate, max: 0.5}
  - {name: fail_quarantine_rate, type: quarantine_rate, max: 0}
  - {name: pass_psi, type: psi, column: amount, max: 0.2}
  - {name: fail_psi, type: psi, column: amount, max: 0}
  - {name: pass_ks, type: ks, column: amount, max: 0.15}
  - {name: fail_ks, type: ks, column: amount, max: 0}
  - {name: warn_only, type: row_count, min: 1000000, severity: warn}
)";

TEST_P(ValidatorTest, EveryCheckTypePassesAndFails) {
  // Three quarantined rows on the day, so quarantine_rate has something to measure.
  std::string csv = dir_ / "bad.csv";
  std::string ts = FormatTimestamp(day_ + 3600);
  test::WriteFile(csv, "transaction_id,ts,customer_id,terminal_id,amount\n1,"  + ts + ",1,1,-5\n2," + ts +
                           ",999999,1,5\n3," + ts + ",1,1,\n");
  ImportOptions io;
  io.now = day_ + 30 * kSecondsPerDay;
  auto imported = ImportCsv(db_.get(), csv, io);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();

  ValidationResult r = Run(kEveryType);
  ASSERT_EQ(r.checks.size(), 30u);
  for (const CheckResult& c : r.checks) {
    if (c.name.rfind("pass_", 0) == 0) {
      EXPECT_EQ(c.status, CheckStatus::kPassed) << c.name << ": " << c.detail << " observed " << c.observed;
    } else {
      EXPECT_EQ(c.status, CheckStatus::kFailed) << c.name << ": " << c.detail << " observed " << c.observed;
    }
  }
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.failed, 15);
  EXPECT_EQ(r.warned, 1);
  EXPECT_EQ(r.quarantine.at("negative_amount"), 1);
  EXPECT_EQ(r.quarantine.at("unknown_customer"), 1);
  EXPECT_EQ(r.quarantine.at("missing_amount"), 1);
  EXPECT_EQ(Find(r, "fail_quarantine_rate")->detail.find("3 quarantined"), 0u);
  // Failing checks say what offended.
  EXPECT_NE(Find(r, "fail_in_set")->detail.find("'card_present'"), std::string::npos);
  EXPECT_NE(Find(r, "fail_unique")->detail.find("duplicate values"), std::string::npos);
  EXPECT_EQ(Find(r, "fail_column_exists")->observed, "float");
  EXPECT_EQ(Find(r, "fail_column_missing")->observed, "missing");
  EXPECT_EQ(Find(r, "pass_row_count")->observed.get<int64_t>(), r.rows);
}

TEST_P(ValidatorTest, WarnFailuresDoNotFailTheDay) {
  ValidationResult r = Run("suite: w\nchecks:\n  - {type: row_count, min: 1000000, severity: warn}\n"
                           "  - {type: unique, column: transaction_id}\n");
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.warned, 1);
  EXPECT_EQ(r.failed, 0);
}

TEST_P(ValidatorTest, DriftIsDetectedOnAShiftedDayAndNotOnANormalOne) {
  const std::string suite =
      "suite: drift\nchecks:\n"
      "  - {type: psi, column: amount, max: 0.2}\n"
      "  - {type: psi, column: hour_of_day, max: 0.2}\n"
      "  - {type: ks, column: amount, max: 0.1}\n";
  ValidationResult normal = Run(suite);
  ASSERT_EQ(normal.checks.size(), 3u);
  for (const CheckResult& c : normal.checks) EXPECT_EQ(c.status, CheckStatus::kPassed) << c.name << " " << c.observed;
  EXPECT_TRUE(normal.passed);
  EXPECT_GT(normal.reference_rows, 5 * normal.rows);

  // Prices on the day jump by 2.5x.
  ASSERT_TRUE(db_->Execute("UPDATE transactions SET amount = amount * 2.5 WHERE ts >= $1 AND ts < $2",
                           {day_, day_ + kSecondsPerDay}).ok());
  ValidationResult shifted = Run(suite);
  EXPECT_FALSE(shifted.passed);
  EXPECT_EQ(Find(shifted, "psi(amount)")->status, CheckStatus::kFailed);
  EXPECT_EQ(Find(shifted, "ks(amount)")->status, CheckStatus::kFailed);
  EXPECT_EQ(Find(shifted, "psi(hour_of_day)")->status, CheckStatus::kPassed);
  EXPECT_GT(Find(shifted, "psi(amount)")->observed.get<double>(), 0.5);
}

TEST_P(ValidatorTest, DriftWithoutReferenceRowsIsSkippedNotPassed) {
  auto suite = ParseSuite("suite: s\nchecks: [{type: ks, column: amount, max: 0.1}]", "s");
  ASSERT_TRUE(suite.ok());
  ValidateOptions options;
  options.day_ts = *ParseDay("2026-02-01");  // the first generated day
  options.reference_days = 5;
  options.out_dir = dir_ / "validation";
  auto r = Validate(db_.get(), *suite, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->checks[0].status, CheckStatus::kSkipped);
  EXPECT_EQ(r->skipped, 1);
}

TEST_P(ValidatorTest, ResultsAreStoredAndReportsWritten) {
  ValidationResult r = Run(kEveryType);
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM validation_results WHERE suite = 'every_type'"), 1);
  EXPECT_EQ(*db_->QueryInt("SELECT passed FROM validation_results WHERE result_id = $1", {r.result_id}), 0);
  std::string stored;
  ASSERT_TRUE(db_->Query("SELECT result_json, day FROM validation_results WHERE result_id = $1", {r.result_id},
                         [&](const storage::DbRow& row) {
                           stored = row.Text(0);
                           EXPECT_EQ(row.Text(1), FormatDay(day_));
                           return Status::OK();
                         }).ok());
  nlohmann::json j = nlohmann::json::parse(stored);
  EXPECT_EQ(j["format"], "lathe.validation/1");
  EXPECT_EQ(j["checks"].size(), 30u);
  EXPECT_EQ(j, nlohmann::json::parse(test::ReadAll(r.json_path)));
  EXPECT_EQ(r.json_path, dir_ / "validation/every_type/" + FormatDay(day_) + ".json");

  const std::string html = test::ReadAll(r.html_path);
  for (const CheckResult& c : r.checks) {
    EXPECT_NE(html.find("data-check=\"" + c.name + "\""), std::string::npos) << c.name;
  }
  EXPECT_NE(html.find("FAILED"), std::string::npos);
  // Drift charts are inline SVG: one per drift check, nothing loaded from elsewhere.
  size_t svgs = 0;
  for (size_t p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1)) ++svgs;
  EXPECT_EQ(svgs, 4u);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);

  Run(kEveryType);  // a re-run appends history
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM validation_results WHERE suite = 'every_type'"), 2);
}

TEST_P(ValidatorTest, TheLatestRunOfADayIsItsVerdict) {
  const std::string day = FormatDay(day_);
  auto never = LatestVerdict(db_.get(), "gate", day);
  ASSERT_TRUE(never.ok());
  EXPECT_FALSE(never->has_value());
  Run("suite: gate\nchecks: [{type: row_count, min: 1000000}]");
  EXPECT_EQ(*LatestVerdict(db_.get(), "gate", day), std::optional<bool>(false));
  Run("suite: gate\nchecks: [{type: row_count, min: 1}]");  // re-validated after a fix
  EXPECT_EQ(*LatestVerdict(db_.get(), "gate", day), std::optional<bool>(true));
  EXPECT_FALSE(LatestVerdict(db_.get(), "other", day)->has_value());
}

TEST_P(ValidatorTest, MissingTableOrTimestampColumnIsAnError) {
  auto suite = ParseSuite("suite: s\ntable: nope\nchecks: [{type: row_count, min: 1}]", "s");
  ASSERT_TRUE(suite.ok());
  ValidateOptions options;
  options.day_ts = day_;
  options.out_dir = dir_ / "validation";
  auto r = Validate(db_.get(), *suite, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  suite = ParseSuite("suite: s\ntimestamp_column: when\nchecks: [{type: row_count, min: 1}]", "s");
  ASSERT_TRUE(suite.ok());
  r = Validate(db_.get(), *suite, options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no timestamp column 'when'"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Engines, ValidatorTest, ::testing::Values("sqlite", "postgres"));

TEST(Report, EscapesWhatItShows) {
  ValidationResult r;
  r.suite = "s";
  r.day = "2026-01-01";
  CheckResult c;
  c.name = "<script>alert(1)</script>";
  c.detail = "a & b \"quoted\"";
  r.checks.push_back(c);
  std::string html = RenderHtmlReport(r);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("a &amp; b &quot;quoted&quot;"), std::string::npos);
}

}  // namespace
}  // namespace lathe::ml
