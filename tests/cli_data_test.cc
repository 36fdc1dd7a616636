// The real `lathe` binary: data generate / import / export and validate on
// SQLite and on the harness's PostgreSQL, and every kind of bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "db_fixture.h"
#include "storage/db.h"
#include "test_util.h"

namespace lathe::test {
namespace {

const std::string kSuite = std::string(LATHE_SOURCE_DIR) + "/suites/transactions.yaml";

std::vector<std::string> Generate(const std::string& db, const std::string& seed = "5") {
  std::vector<std::string> a = {"data", "generate", "--days", "8", "--customers", "200", "--terminals", "400",
                                "--seed", seed, "--start", "2026-04-01", "--json"};
  if (!db.empty()) a.insert(a.end(), {"--db", db});
  return a;
}

class CliData : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string error;
    db_ = FreshDbUrl(GetParam(), dir_, "", &error);
    ASSERT_TRUE(error.empty()) << error;
  }
  std::vector<std::string> WithDb(std::vector<std::string> args) const {
    if (!db_.empty()) args.insert(args.end(), {"--db", db_});
    return args;
  }
  TempDir dir_;
  std::string db_;  // empty: the data directory's SQLite file
};

TEST_P(CliData, GenerateValidatePassesThenAShiftedDayFails) {
  RunResult gen = RunLathe(dir_.path(), Generate(db_));
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  nlohmann::json g = nlohmann::json::parse(gen.out);
  EXPECT_GT(g["rows"].get<int64_t>(), 2000);
  EXPECT_EQ(g["by_scenario"].size(), 6u);

  // The shipped suite against the 7 days before.
  RunResult ok = RunLathe(dir_.path(), WithDb({"validate", "--suite", kSuite, "--date", "2026-04-08",
                                              "--reference-days", "7", "--json"}));
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  nlohmann::json r = nlohmann::json::parse(ok.out);
  EXPECT_TRUE(r["passed"].get<bool>());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "validation/transactions/2026-04-08.html"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "validation/transactions/2026-04-08.json"));
  EXPECT_EQ(r["html_path"], dir_ / "validation/transactions/2026-04-08.html");

  auto db = storage::OpenDb(db_, dir_.path());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  int64_t day = 1775606400;  // 2026-04-08
  ASSERT_TRUE((*db)->Execute("UPDATE transactions SET amount = amount * 3 WHERE ts >= $1 AND ts < $2",
                             {day, day + 86400}).ok());
  RunResult bad = RunLathe(dir_.path(), WithDb({"validate", "--suite", kSuite, "--date", "2026-04-08",
                                               "--reference-days", "7"}));
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("FAILED"), std::string::npos);
  EXPECT_NE(bad.out.find("failed  fail psi(amount)"), std::string::npos) << bad.out;
  EXPECT_EQ(*(*db)->QueryInt("SELECT COUNT(*) FROM validation_results"), 2);
  EXPECT_EQ(*(*db)->QueryInt("SELECT SUM(passed) FROM validation_results"), 1);
}

TEST_P(CliData, ExportImportRoundTripWithQuarantine) {
  ASSERT_EQ(RunLathe(dir_.path(), Generate(db_)).exit_code, 0);
  RunResult exported = RunLathe(dir_.path(), WithDb({"data", "export", "--date", "2026-04-03"}));
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_NE(exported.err.find("exported"), std::string::npos);
  // Re-importing the same rows: every one is a duplicate, and nothing new is stored.
  WriteFile(dir_ / "day.csv", exported.out);
  RunResult dup = RunLathe(dir_.path(), WithDb({"data", "import", dir_ / "day.csv", "--json"}));
  EXPECT_EQ(dup.exit_code, 1) << dup.err;  // nothing imported
  nlohmann::json d = nlohmann::json::parse(dup.out);
  EXPECT_EQ(d["accepted"], 0);
  EXPECT_EQ(d["quarantined"]["duplicate_id"], d["rows"]);
  // Into a fresh SQLite file, the export comes back byte for byte.
  TempDir other;
  RunResult imp = RunLathe(other.path(), {"data", "import", dir_ / "day.csv", "--new-customers"});
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  EXPECT_NE(imp.out.find("0 quarantined"), std::string::npos) << imp.out;
  RunResult again = RunLathe(other.path(), {"data", "export", "--from", "2026-04-03", "--to", "2026-04-03",
                                            "--out", other / "again.csv"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(ReadAll(other / "again.csv"), exported.out);
}

INSTANTIATE_TEST_SUITE_P(Engines, CliData, ::testing::Values("sqlite", "postgres"));

TEST(CliDataDeterminism, SameSeedSameDataOtherSeedOther) {
  TempDir a, b, c;
  for (auto [dir, seed] : {std::pair{&a, "5"}, std::pair{&b, "5"}, std::pair{&c, "6"}})
    ASSERT_EQ(RunLathe(dir->path(), Generate("", seed)).exit_code, 0);
  auto dump = [](const TempDir& d) { return RunLathe(d.path(), {"data", "export"}).out; };
  std::string da = dump(a);
  EXPECT_GT(da.size(), 10000u);
  EXPECT_EQ(da, dump(b));
  EXPECT_NE(da, dump(c));
}

// Bad input of every kind: a clear message naming what and why, and the
// documented exit status, never a crash (CLI11's own parse errors keep its
// codes: 104 conversion, 105 validation, 106 required, 108 excludes).
TEST(CliDataBadInput, EachMistakeIsNamed) {
  TempDir dir;
  WriteFile(dir / "bad_yaml.yaml", "suite: [unclosed");
  WriteFile(dir / "bad_type.yaml", "suite: s\nchecks: [{type: everything_fine}]");
  WriteFile(dir / "bad_key.yaml", "suite: s\nchecks: [{type: row_count, min: 1, mni: 2}]");
  WriteFile(dir / "ok.yaml", "suite: s\nchecks: [{type: row_count, min: 1}]");
  WriteFile(dir / "no_amount.csv", "transaction_id,ts,customer_id,terminal_id\n1,2026-01-01T00:00:00Z,1,1\n");
  WriteFile(dir / "all_bad.csv", "transaction_id,ts,customer_id,terminal_id,amount\n1,2026-01-01T00:00:00Z,1,1,-1\n");
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"validate", "--suite", dir / "bad_yaml.yaml", "--date", "2026-01-01"}, 2, "not valid YAML"},
      {{"validate", "--suite", dir / "bad_type.yaml", "--date", "2026-01-01"}, 2, "unknown check type 'everything_fine'"},
      {{"validate", "--suite", dir / "bad_key.yaml", "--date", "2026-01-01"}, 2, "unknown key 'mni'"},
      {{"validate", "--suite", dir / "missing.yaml", "--date", "2026-01-01"}, 2, "cannot read suite"},
      {{"validate", "--suite", dir / "ok.yaml", "--date", "01/02/2026"}, 2, "--date '01/02/2026' is not a date"},
      {{"validate", "--suite", dir / "ok.yaml", "--date", "2026-01-01", "--db", "mysql://x/y"}, 2, "unknown scheme 'mysql'"},
      {{"validate", "--suite", dir / "ok.yaml", "--date", "2026-01-01", "--db", "postgres://u:pw@127.0.0.1:1/x"}, 3,
       "cannot connect to postgres://u:***@127.0.0.1:1/x"},
      {{"validate", "--suite", dir / "ok.yaml", "--date", "2026-01-01", "--reference-days", "0"}, 105, "--reference-days"},
      {{"validate", "--date", "2026-01-01"}, 106, "--suite is required"},
      {{"data", "generate", "--days", "0"}, 2, "--days 0 is out of range"},
      {{"data", "generate", "--days", "3", "--customers", "-5"}, 2, "--customers -5 is out of range"},
      {{"data", "generate", "--days", "3", "--start", "2026-02-30"}, 2, "--start '2026-02-30' is not a date"},
      {{"data", "generate", "--days", "x"}, 104, "Could not convert: --days"},
      {{"data", "import", dir / "missing.csv"}, 2, "cannot open file"},
      {{"data", "import", dir / "no_amount.csv"}, 2, "no column for required field 'amount'"},
      {{"data", "import", dir / "no_amount.csv", "--map", "ts"}, 2, "--map entry 'ts' is not column=field"},
      {{"data", "import", dir / "no_amount.csv", "--map", "ts=time"}, 2, "'time' is not a field"},
      {{"data", "import", dir / "all_bad.csv"}, 1, "quarantined negative_amount"},
      {{"data", "export", "--date", "tomorrow"}, 2, "--date 'tomorrow' is not a date"},
      {{"data", "export", "--date", "2026-01-01", "--from", "2026-01-01"}, 108, "--date excludes --from"},
      {{"data", "export", "--out", dir / "no/such/dir/x.csv"}, 1, "cannot create file"},
      {{"data"}, 106, "A subcommand is required"},
  };
  for (const Case& c : cases) {
    RunResult r = RunLathe(dir / "data", c.args);
    std::string all = r.out + r.err;
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args[0] << " " << c.args[1] << ": " << all;
    EXPECT_NE(all.find(c.message), std::string::npos) << "expected '" << c.message << "' in: " << all;
  }
}

}  // namespace
}  // namespace lathe::test
