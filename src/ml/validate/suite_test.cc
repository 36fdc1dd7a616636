#include "ml/validate/suite.h"

#include <gtest/gtest.h>

#include <set>

#include "test_util.h"

namespace lathe::ml {
namespace {

TEST(Suite, ShippedSuiteParses) {
  auto suite = LoadSuite(std::string(LATHE_SOURCE_DIR) + "/suites/transactions.yaml");
  ASSERT_TRUE(suite.ok()) << suite.status().ToString();
  EXPECT_EQ(suite->name, "transactions");
  EXPECT_EQ(suite->reference_days, 28);
  std::set<CheckType> types;
  for (const CheckSpec& c : suite->checks) types.insert(c.type);
  EXPECT_EQ(types.size(), 14u);  // every check type is used
}

TEST(Suite, ParsesEveryField) {
  auto suite = ParseSuite(R"(
suite: s
table: t
timestamp_column: at
label_column: y
reference_days: 7
checks:
  - {type: between, column: amount, min: 0, max: 10, mostly: 0.9, severity: warn, name: small}
  - {type: freshness, max_age: 36h}
  - {type: psi, column: amount, bins: 5, max: 0.3}
  - {type: in_set, column: c, values: [a, b]}
)", "s.yaml");
  ASSERT_TRUE(suite.ok()) << suite.status().ToString();
  EXPECT_EQ(suite->table, "t");
  EXPECT_EQ(suite->timestamp_column, "at");
  EXPECT_EQ(suite->label_column, "y");
  ASSERT_EQ(suite->checks.size(), 4u);
  const CheckSpec& b = suite->checks[0];
  EXPECT_EQ(b.name, "small");
  EXPECT_EQ(b.severity, Severity::kWarn);
  EXPECT_DOUBLE_EQ(*b.min, 0);
  EXPECT_DOUBLE_EQ(*b.max, 10);
  EXPECT_DOUBLE_EQ(b.mostly, 0.9);
  EXPECT_EQ(suite->checks[1].max_age_s, 36 * 3600);
  EXPECT_EQ(suite->checks[1].name, "freshness");
  EXPECT_EQ(suite->checks[2].bins, 5);
  EXPECT_EQ(suite->checks[2].name, "psi(amount)");
  EXPECT_EQ(suite->checks[3].values, (std::vector<std::string>{"a", "b"}));
}

// Every bad suite is rejected with a message that names the problem.
TEST(Suite, BadSuitesNameTheProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"suite: [unclosed", "not valid YAML"},
      {"- just a list", "must be a mapping"},
      {"checks: [{type: row_count, min: 1}]", "missing 'suite'"},
      {"suite: s\nchecks: []", "'checks' must be a non-empty list"},
      {"suite: s\nbogus: 1\nchecks: [{type: row_count, min: 1}]", "unknown key 'bogus'"},
      {"suite: s\nchecks: [{type: nope}]", "unknown check type 'nope'"},
      {"suite: s\nchecks: [{column: a}]", "missing 'type'"},
      {"suite: s\nchecks: [{type: not_null}]", "check 1 (not_null): missing 'column'"},
      {"suite: s\nchecks: [{type: not_null, column: a, colour: red}]", "unknown key 'colour'"},
      {"suite: s\nchecks: [{type: row_count, min: many}]", "'min' must be a number"},
      {"suite: s\nchecks: [{type: row_count}]", "needs 'min', 'max' or both"},
      {"suite: s\nchecks: [{type: row_count, min: 5, max: 1}]", "'min' is greater than 'max'"},
      {"suite: s\nchecks: [{type: not_null, column: a, mostly: 2}]", "'mostly' must be between 0 and 1"},
      {"suite: s\nchecks: [{type: row_count, min: 1, severity: fatal}]", "severity 'fatal' must be warn or fail"},
      {"suite: s\nchecks: [{type: regex, column: a, pattern: '([a-z'}]", "not a valid regular expression"},
      {"suite: s\nchecks: [{type: regex, column: a}]", "missing 'pattern'"},
      {"suite: s\nchecks: [{type: in_set, column: a, values: x}]", "'values' must be a non-empty list"},
      {"suite: s\nchecks: [{type: freshness, max_age: soon}]", "max_age 'soon' is not a duration"},
      {"suite: s\nchecks: [{type: psi, column: a}]", "missing 'max'"},
      {"suite: s\nchecks: [{type: psi, column: a, max: 0.2, bins: 1}]", "'bins' must be between 2 and 100"},
      {"suite: s\nchecks: [{type: column_exists, column: a, dtype: blob}]", "dtype 'blob' must be int, float or string"},
      {"suite: s\nchecks: [{type: not_null, column: 'a; DROP TABLE t'}]", "not a plain SQL identifier"},
      {"suite: s\ntable: 'x y'\nchecks: [{type: row_count, min: 1}]", "not a plain SQL identifier"},
      {"suite: s\nreference_days: 0\nchecks: [{type: row_count, min: 1}]", "'reference_days' must be between"},
      {"suite: s\nchecks: [{type: row_count, min: 1}, {type: row_count, max: 2}]", "duplicate check name 'row_count'"},
      {"suite: '../x'\nchecks: [{type: row_count, min: 1}]", "must be non-empty without spaces or slashes"},
      {"suite: s\nchecks: [{type: not_null, column: [a]}]", "'column' must be a string"},
  };
  for (const auto& [yaml, expected] : cases) {
    auto suite = ParseSuite(yaml, "bad.yaml");
    ASSERT_FALSE(suite.ok()) << yaml;
    EXPECT_EQ(suite.status().code(), StatusCode::kInvalidArgument) << yaml;
    EXPECT_NE(suite.status().message().find(expected), std::string::npos)
        << yaml << "\n  got: " << suite.status().message();
    EXPECT_EQ(suite.status().message().rfind("bad.yaml: ", 0), 0u) << suite.status().message();
  }
}

TEST(Suite, MissingFileIsNotFound) {
  auto suite = LoadSuite("/nonexistent/suite.yaml");
  ASSERT_FALSE(suite.ok());
  EXPECT_EQ(suite.status().code(), StatusCode::kNotFound);
}

TEST(Suite, Durations) {
  EXPECT_EQ(*ParseDuration("90s"), 90);
  EXPECT_EQ(*ParseDuration("15m"), 900);
  EXPECT_EQ(*ParseDuration("2d"), 172800);
  EXPECT_EQ(*ParseDuration("120"), 120);
  EXPECT_FALSE(ParseDuration("h").has_value());
  EXPECT_FALSE(ParseDuration("-5s").has_value());
  EXPECT_FALSE(ParseDuration("1w").has_value());
}

}  // namespace
}  // namespace lathe::ml
