#include "ml/features/feature_spec.h"

#include <gtest/gtest.h>

#include <set>

#include "test_util.h"

namespace lathe::ml {
namespace {

TEST(FeatureSpec, ShippedSpecParsesAndUsesEveryKind) {
  auto spec = LoadFeatureSpec(std::string(LATHE_SOURCE_DIR) + "/features/fraud.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->name, "fraud");
  EXPECT_EQ(spec->features.size(), 22u);
  std::set<FeatureKind> kinds;
  for (const FeatureDef& f : spec->features) kinds.insert(f.kind);
  EXPECT_EQ(kinds.size(), 13u);
  EXPECT_EQ(spec->Names()[1], "customer_count_1d");
  EXPECT_EQ(spec->Names()[16], "terminal_risk_1d_delay7d");
  EXPECT_EQ(spec->LookbackSeconds(), 37 * 86400);
}

TEST(FeatureSpec, ParsesEveryFieldAndDefaults) {
  auto spec = ParseFeatureSpec(R"(
name: s
features:
  - {name: big, kind: amount}
  - {kind: customer_sum, window: 90m}
  - {kind: terminal_risk, window: 7d}
  - {kind: terminal_risk, window: 1d, delay: 0, missing: -1}
  - {kind: night, from_hour: 22, to_hour: 5}
  - {kind: amount_zscore, window: 3600, missing: 0}
)",
                               "s.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ASSERT_EQ(spec->features.size(), 6u);
  EXPECT_EQ(spec->Names(), (std::vector<std::string>{"big", "customer_sum_90m", "terminal_risk_7d",
                                                     "terminal_risk_1d_delay0s", "night", "amount_zscore_1h"}));
  EXPECT_EQ(spec->features[1].window_s, 5400);
  EXPECT_EQ(spec->features[2].delay_s, 7 * 86400);  // the default delay
  EXPECT_TRUE(std::isnan(spec->features[2].missing));
  EXPECT_EQ(spec->features[3].delay_s, 0);
  EXPECT_EQ(spec->features[3].missing, -1.0f);
  EXPECT_EQ(spec->features[4].from_hour, 22);
  EXPECT_EQ(spec->features[4].to_hour, 5);
  EXPECT_EQ(spec->features[5].window_s, 3600);
  EXPECT_EQ(spec->LookbackSeconds(), 14 * 86400);
}

// Every bad spec is rejected with a message that names what and why.
TEST(FeatureSpec, BadSpecsNameTheProblem) {
  const std::string head = "name: s\nfeatures:\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"name: [unclosed", "not valid YAML"},
      {"- a list", "must be a mapping"},
      {"features: [{kind: amount}]", "missing 'name'"},
      {"name: s", "'features' must be a non-empty list"},
      {"name: s\nfeatures: []", "'features' must be a non-empty list"},
      {"name: s\nfeatures: amount", "'features' must be a non-empty list"},
      {"name: s\nversion: 2\nfeatures: [{kind: amount}]", "'version' must be 1"},
      {"name: s\ncolour: red\nfeatures: [{kind: amount}]", "unknown key 'colour'"},
      {"name: [a]\nfeatures: [{kind: amount}]", "'name' must be a non-empty string"},
      {head + "  - amount", "feature 1: must be a mapping"},
      {head + "  - {window: 1d}", "feature 1: missing 'kind'"},
      {head + "  - {kind: velocity, window: 1d}", "feature 1: unknown feature kind 'velocity'"},
      {head + "  - {kind: [amount]}", "feature 1: 'kind' must be a non-empty string"},
      {head + "  - {kind: amount}\n  - {kind: customer_count}", "feature 2: missing 'window' (kind customer_count"},
      {head + "  - {kind: customer_count, window: soon}",
       "'window' must be a duration (e.g. 90s, 15m, 1h, 7d), not 'soon'"},
      {head + "  - {kind: customer_count, window: -1d}", "'window' must be a duration"},
      {head + "  - {kind: customer_count, window: 0}", "'window' 0 must be more than 0 and at most 365d"},
      {head + "  - {kind: customer_count, window: 400d}", "'window' 400d must be more than 0 and at most 365d"},
      {head + "  - {kind: customer_count, window: [1d]}", "'window' must be a duration"},
      {head + "  - {kind: terminal_risk, window: 1d, delay: 1w}", "'delay' must be a duration"},
      {head + "  - {kind: amount, window: 1d}", "key 'window' does not apply to kind amount"},
      {head + "  - {kind: customer_count, window: 1d, delay: 1d}", "key 'delay' does not apply to kind customer_count"},
      {head + "  - {kind: weekend, colour: red}", "key 'colour' does not apply to kind weekend"},
      {head + "  - {kind: customer_count, window: 1d, missing: 0}", "key 'missing' does not apply"},
      {head + "  - {kind: amount_zscore, window: 1d, missing: lots}", "'missing' must be a number or nan"},
      {head + "  - {kind: night, from_hour: 24}", "'from_hour' must be an hour from 0 to 23"},
      {head + "  - {kind: night, to_hour: six}", "'to_hour' must be an hour from 0 to 23"},
      {head + "  - {kind: night, from_hour: 3, to_hour: 3}", "'from_hour' and 'to_hour' must differ"},
      {head + "  - {kind: customer_count, window: 1d}\n  - {kind: customer_count, window: 24h}",
       "feature 2: duplicate feature name 'customer_count_1d'"},
      {head + "  - {name: x, kind: amount}\n  - {name: x, kind: weekend}", "duplicate feature name 'x'"},
      {head + "  - {name: '', kind: amount}", "'name' must be a non-empty string"},
  };
  for (const auto& [yaml, want] : cases) {
    auto spec = ParseFeatureSpec(yaml, "bad.yaml");
    ASSERT_FALSE(spec.ok()) << yaml;
    EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument) << yaml;
    EXPECT_NE(spec.status().message().find(want), std::string::npos)
        << "spec:\n"
        << yaml << "\nmessage: " << spec.status().message() << "\nwanted: " << want;
    EXPECT_EQ(spec.status().message().rfind("bad.yaml: ", 0), 0u) << spec.status().message();
  }
}

TEST(FeatureSpec, ErrorsNameTheFeatureByName) {
  auto spec = ParseFeatureSpec("name: s\nfeatures:\n  - {name: spend, kind: customer_sum, window: x}", "f.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("feature 1 (spend): 'window'"), std::string::npos) << spec.status().message();
}

TEST(FeatureSpec, MissingFileIsNotFound) {
  test::TempDir dir;
  auto spec = LoadFeatureSpec(dir / "none.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace lathe::ml
