// The real binary: train twice on generated data, then runs list / show /
// compare and models list / promote / rollback, on SQLite and PostgreSQL;
// and a table of bad inputs, each with its exit status and message, each
// leaving the registry unchanged.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "db_fixture.h"
#include "storage/db.h"
#include "test_util.h"

namespace lathe::test {
namespace {

using nlohmann::json;

const std::string kFeatures = std::string(LATHE_SOURCE_DIR) + "/features/fraud.yaml";
const std::string kSuite = std::string(LATHE_SOURCE_DIR) + "/suites/transactions.yaml";
std::string Config(int min_train_rows = 500) {
  return "model: xgboost\nseed: 3\npositive_weight: 1\n"
         "split: {train_days: 14, validation_days: 4, gap_days: 3, test_days: 7}\n"
         "min_train_rows: " + std::to_string(min_train_rows) + "\n"
         "xgboost: {n_estimators: 60, early_stopping_rounds: 15}\n";
}

class CliMl : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string error;
    db_ = FreshDbUrl(GetParam(), dir_, "", &error);
    ASSERT_TRUE(error.empty()) << error;
    WriteFile(dir_ / "train.yaml", Config());
    RunResult gen = Lathe({"data", "generate", "--days", "36", "--customers", "300", "--terminals", "600", "--seed",
                           "3", "--start", "2026-01-01"});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
  }
  RunResult Lathe(std::vector<std::string> args) const {
    if (!db_.empty()) args.insert(args.end(), {"--db", db_});
    return RunLathe(dir_.path(), args);
  }
  json LatheJson(std::vector<std::string> args, int expect = 0) const {
    args.push_back("--json");
    RunResult r = Lathe(args);
    EXPECT_EQ(r.exit_code, expect) << r.err;
    if (r.exit_code != 0) return json();
    try {
      return json::parse(r.out);
    } catch (const json::exception& e) {
      ADD_FAILURE() << e.what() << ": " << r.out;
      return json();
    }
  }
  std::vector<std::string> Train(const std::string& day) const {
    return {"train", "--config", dir_ / "train.yaml", "--date", day, "--features", kFeatures};
  }
  TempDir dir_;
  std::string db_;
};

TEST_P(CliMl, TrainTwiceThenInspectPromoteAndRollBack) {
  json first = LatheJson(Train("2026-02-01"));
  ASSERT_TRUE(first.is_object());
  EXPECT_EQ(first["version"], 1);
  EXPECT_EQ(first["promotion"]["decision"], "promote");
  EXPECT_NE(first["promotion"]["reason"].get<std::string>().find("first model"), std::string::npos);
  EXPECT_EQ(first["champion"], 1);
  EXPECT_EQ(first["validation_verdict"], "none");
  EXPECT_EQ(first["data_to"], "2026-02-01");
  EXPECT_GT(first["metrics"]["test"]["auprc"].get<double>(), 0.05);
  EXPECT_GT(first["rows"]["train"].get<int64_t>(), 500);

  // Validate the second day first: the run records the verdict it trained on.
  RunResult validated = Lathe({"validate", "--suite", kSuite, "--date", "2026-02-05", "--reference-days", "7"});
  ASSERT_LE(validated.exit_code, 1) << validated.err;
  RunResult second_text = Lathe(Train("2026-02-05"));
  ASSERT_EQ(second_text.exit_code, 0) << second_text.err;
  for (const char* expected : {"registered fraud version 2", "test       AUPRC", "promotion: ", "champion: version"})
    EXPECT_NE(second_text.out.find(expected), std::string::npos) << expected << "\n" << second_text.out;
  EXPECT_NE(second_text.out.find(validated.exit_code == 0 ? "2026-02-05: passed" : "2026-02-05: failed"),
            std::string::npos)
      << second_text.out;
  const bool promoted = second_text.out.find("promotion: promoted") != std::string::npos;
  EXPECT_NE(second_text.out.find(promoted ? "champion: version 2" : "champion: version 1"), std::string::npos);
  EXPECT_NE(second_text.out.find("95% CI ["), std::string::npos) << second_text.out;
  EXPECT_NE(second_text.out.find("over 1000 resamples, margin 0.0100"), std::string::npos) << second_text.out;

  json runs = LatheJson({"runs", "list"});
  ASSERT_EQ(runs.size(), 2u);
  const std::string run2 = runs[0]["run_id"], run1 = runs[1]["run_id"];
  EXPECT_EQ(run1, first["run_id"]);
  EXPECT_EQ(runs[0]["status"], "finished");
  EXPECT_EQ(runs[0]["promotion"], promoted ? "promote" : "keep");
  EXPECT_EQ(LatheJson({"runs", "list", "--experiment", "fraud"}).size(), 2u);

  json show = LatheJson({"runs", "show", run2});
  EXPECT_EQ(show["params"]["xgboost.n_estimators"], "60");
  EXPECT_EQ(show["params"]["split.test_days"], "7");
  EXPECT_EQ(show["params"]["date"], "2026-02-05");
  EXPECT_EQ(show["tags"]["validation"], validated.exit_code == 0 ? "passed" : "failed");
  EXPECT_FALSE(show["source_version"].get<std::string>().empty());
  EXPECT_EQ(show["test_from"], "2026-01-30");
  std::set<std::string> artifacts;
  for (const json& a : show["artifacts"]) {
    artifacts.insert(a["name"].get<std::string>());
    // Every artifact is where its hash says.
    const std::string sha = a["sha256"];
    EXPECT_TRUE(std::filesystem::exists(dir_ / ("artifacts/" + sha.substr(0, 2) + "/" + sha.substr(2)))) << sha;
  }
  for (const char* name : {"model.json", "feature_spec.yaml", "threshold.json", "pr_curve.json", "roc_curve.json",
                           "validation_result.json"})
    EXPECT_TRUE(artifacts.count(name)) << name;
  std::set<std::string> metrics;
  for (const json& m : show["metrics"]) metrics.insert(m["key"].get<std::string>());
  for (const char* key : {"test.auprc", "test.roc_auc", "test.card_precision_at_100", "validation.auprc", "threshold",
                          "promotion.challenger_auprc", "promotion.ci_low"})
    EXPECT_TRUE(metrics.count(key)) << key;
  RunResult show_text = Lathe({"runs", "show", run2});
  EXPECT_NE(show_text.out.find("promotion.reason"), std::string::npos);

  json cmp = LatheJson({"runs", "compare", run1, run2});
  EXPECT_EQ(cmp["params"]["date"], json::array({"2026-02-01", "2026-02-05", true}));
  EXPECT_EQ(cmp["params"]["model"], json::array({"xgboost", "xgboost", false}));
  EXPECT_EQ(cmp["metrics"]["test.auprc"][0], first["metrics"]["test"]["auprc"]);
  RunResult cmp_text = Lathe({"runs", "compare", run1, run2});
  EXPECT_NE(cmp_text.out.find("* date"), std::string::npos) << cmp_text.out;

  json models = LatheJson({"models", "list"});
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0]["versions"].size(), 2u);
  EXPECT_EQ(models[0]["champion"], promoted ? 2 : 1);

  // Manual promotion of version 2 (if the rule kept 1), then rollback.
  if (!promoted) {
    json p = LatheJson({"models", "promote", "fraud", "2"});
    EXPECT_EQ(p["champion"], 2);
    EXPECT_EQ(p["previous_champion"], 1);
  }
  json back = LatheJson({"models", "rollback", "fraud"});
  EXPECT_EQ(back["champion"], 1);
  RunResult again = Lathe({"models", "rollback", "fraud"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("no previous champion"), std::string::npos) << again.err;

  // --no-promote registers a challenger and leaves the champion alone.
  json third = LatheJson({"train", "--config", dir_ / "train.yaml", "--date", "2026-02-03", "--features", kFeatures,
                          "--no-promote"});
  EXPECT_EQ(third["version"], 3);
  EXPECT_TRUE(third["promotion"].is_null());
  EXPECT_EQ(third["champion"], 1);
  models = LatheJson({"models", "list"});
  EXPECT_EQ(models[0]["challenger"], 3);
}

INSTANTIATE_TEST_SUITE_P(Engines, CliMl, ::testing::Values("sqlite", "postgres"));

// Every bad input: its exit status, a message naming the problem, and the
// registry exactly as before.
TEST(CliMlBadInput, EachMistakeIsNamedAndChangesNothing) {
  TempDir dir;
  auto lathe = [&](std::vector<std::string> args) { return RunLathe(dir.path(), args); };
  ASSERT_EQ(lathe({"data", "generate", "--days", "36", "--customers", "300", "--terminals", "600", "--seed", "3",
                   "--start", "2026-01-01"})
                .exit_code,
            0);
  WriteFile(dir / "train.yaml", Config());
  WriteFile(dir / "few.yaml", Config(1000000));
  WriteFile(dir / "bad_key.yaml", "model: xgboost\nxgboost: {etta: 0.1}\n");
  auto train = [&](const std::string& config, const std::string& day) {
    return std::vector<std::string>{"train", "--config", dir / config, "--date", day, "--features", kFeatures};
  };
  RunResult v1 = lathe(train("train.yaml", "2026-02-01"));
  ASSERT_EQ(v1.exit_code, 0) << v1.err;
  RunResult v2 = lathe({"train", "--config", dir / "train.yaml", "--date", "2026-02-05", "--features", kFeatures,
                        "--no-promote", "--json"});
  ASSERT_EQ(v2.exit_code, 0) << v2.err;
  const std::string run2 = json::parse(v2.out)["run_id"];

  auto db = storage::OpenDb("", dir.path());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto registry_state = [&] {
    return lathe({"models", "list", "--json"}).out +
           std::to_string(*(*db)->QueryInt("SELECT COUNT(*) FROM model_alias_history")) +
           std::to_string(*(*db)->QueryInt("SELECT COUNT(*) FROM promotion_applies"));
  };
  const std::string state = registry_state();
  ASSERT_NE(state.find("\"champion\": 1"), std::string::npos) << state;

  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::string ghost = "0123456789abcdef0123456789abcdef";
  std::vector<Case> cases = {
      {train("few.yaml", "2026-02-05"), 2, "fewer than min_train_rows = 1000000"},
      {train("train.yaml", "2026-03-30"), 2, "no transactions on 2026-03-30"},
      {train("train.yaml", "2026-02-31"), 2, "--date"},
      {train("missing.yaml", "2026-02-05"), 2, "cannot read training config"},
      {train("bad_key.yaml", "2026-02-05"), 2, "unknown key 'xgboost.etta'"},
      {{"train", "--config", dir / "train.yaml", "--date", "2026-02-05", "--features", dir / "nope.yaml"}, 2,
       "cannot read feature spec"},
      {{"train", "--config", dir / "train.yaml", "--date", "2026-02-05", "--features", kFeatures, "--margin", "-1"}, 2,
       "margin must be >= 0"},
      {{"train", "--config", dir / "train.yaml", "--date", "2026-02-05", "--features", kFeatures,
        "--require-validation"},
       1, "latest validation of 2026-02-05 is 'none'"},
      {{"runs", "show", ghost}, 2, "no run '" + ghost + "'"},
      {{"runs", "compare", ghost, run2}, 2, "no run '" + ghost + "'"},
      {{"runs", "list", "--experiment", "nope"}, 2, "no experiment 'nope'"},
      {{"models", "promote", "nope", "1"}, 2, "no registered model 'nope'"},
      {{"models", "promote", "fraud", "9"}, 2, "model 'fraud' has no version 9"},
      {{"models", "rollback", "nope"}, 2, "no registered model 'nope'"},
      {{"models", "rollback", "fraud"}, 1, "no previous champion"},
  };
  for (const Case& c : cases) {
    RunResult r = lathe(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args[0] << " " << c.args[1] << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << "expected '" << c.message << "' in: " << r.err;
    EXPECT_EQ(registry_state(), state) << c.args[0] << " " << c.args[1];
  }

  // A corrupted model artifact: promotion refuses it, and so does training
  // against a damaged champion.
  auto model_path = [&](int version) {
    std::string sha;
    EXPECT_TRUE((*db)->Query("SELECT model_sha256 FROM model_versions WHERE version = $1", {int64_t{version}},
                             [&](const storage::DbRow& r) {
                               sha = std::string(r.Text(0));
                               return Status::OK();
                             })
                    .ok());
    return dir / ("artifacts/" + sha.substr(0, 2) + "/" + sha.substr(2));
  };
  auto flip = [](const std::string& path) {
    std::string bytes = ReadAll(path);
    bytes[bytes.size() / 3] ^= 0x10;
    WriteFile(path, bytes);
  };
  flip(model_path(2));
  RunResult corrupt = lathe({"models", "promote", "fraud", "2"});
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_NE(corrupt.err.find("damaged"), std::string::npos) << corrupt.err;
  EXPECT_NE(corrupt.err.find("model artifact"), std::string::npos) << corrupt.err;
  EXPECT_EQ(registry_state(), state);
  flip(model_path(1));
  RunResult against = lathe(train("train.yaml", "2026-02-05"));
  EXPECT_EQ(against.exit_code, 1);
  EXPECT_NE(against.err.find("damaged"), std::string::npos) << against.err;
  EXPECT_EQ(registry_state(), state);

  // A missing feature column in the store.
  ASSERT_TRUE((*db)->Exec("ALTER TABLE transactions DROP COLUMN device_id").ok());
  RunResult column = lathe({"train", "--config", dir / "train.yaml", "--date", "2026-02-05", "--features", kFeatures,
                            "--no-promote"});
  EXPECT_EQ(column.exit_code, 2);
  EXPECT_NE(column.err.find("no column 'device_id'"), std::string::npos) << column.err;
  EXPECT_EQ(registry_state(), state);

  // No fraud label at all (another store).
  TempDir clean;
  ASSERT_EQ(RunLathe(clean.path(), {"data", "generate", "--days", "30", "--customers", "300", "--terminals", "600",
                                    "--seed", "3", "--start", "2026-01-01"})
                .exit_code,
            0);
  {
    auto c = storage::OpenDb("", clean.path());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->Execute("UPDATE transactions SET is_fraud = 0, label_ts = NULL").ok());
  }
  WriteFile(clean / "train.yaml", Config(100));
  RunResult no_fraud = RunLathe(clean.path(), {"train", "--config", clean / "train.yaml", "--date", "2026-01-30",
                                               "--features", kFeatures});
  EXPECT_EQ(no_fraud.exit_code, 2);
  EXPECT_NE(no_fraud.err.find("no fraud label"), std::string::npos) << no_fraud.err;
  EXPECT_EQ(RunLathe(clean.path(), {"models", "list", "--json"}).out, "[]\n");
  RunResult failed = RunLathe(clean.path(), {"runs", "list", "--json"});
  EXPECT_EQ(json::parse(failed.out)[0]["status"], "failed");
}

}  // namespace
}  // namespace lathe::test
