// CSV import with quarantine, and export, against both engines.
#include "ml/data/csv_import.h"

#include <gtest/gtest.h>

#include <sstream>

#include "db_fixture.h"
#include "ml/data/generator.h"
#include "ml/data/quarantine.h"
#include "ml/data/transaction.h"

namespace lathe::ml {
namespace {

constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z
constexpr const char* kHeader =
    "transaction_id,ts,customer_id,terminal_id,amount,currency,channel,merchant_category,country,device_id,is_fraud,"
    "fraud_scenario,label_ts\n";

class CsvImportTest : public test::EngineTest {
 protected:
  void SetUp() override {
    test::EngineTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(db_->Execute("INSERT INTO customers (customer_id) VALUES (1), (2), (3)").ok());
  }
  Result<ImportStats> Import(const std::string& csv, ImportOptions o = {}) {
    std::string path = dir_ / "in.csv";
    test::WriteFile(path, csv);
    o.now = kNow;
    return ImportCsv(db_.get(), path, o);
  }
  int64_t Count(const std::string& sql) { return *db_->QueryInt(sql); }
};

TEST_P(CsvImportTest, EveryBadRowIsQuarantinedWithItsReason) {
  std::string csv = std::string(kHeader) +
      "100,2025-12-30T10:00:00Z,1,7,12.50,USD,online,5411,US,d1,0,none,\n"                // good
      "101,2025-12-30 11:00:00,2,7,3,EUR,card_present,5812,FR,,1,card_testing,2026-01-02T00:00:00Z\n"  // good
      "102,1767052800,3,7,8,USD,card_present,5411,US,,false,,\n"                            // good, epoch ts
      "103,2025-12-30T12:00:00Z,1,7,,USD,online,5411,US,d1,0,none,\n"                        // missing_amount
      "104,2025-12-30T12:00:00Z,1,7,-4.5,USD,online,5411,US,d1,0,none,\n"                    // negative_amount
      "105,2025-12-30T12:00:00Z,42,7,5,USD,online,5411,US,d1,0,none,\n"                      // unknown_customer
      "106,2026-01-05T12:00:00Z,1,7,5,USD,online,5411,US,d1,0,none,\n"                       // future_timestamp
      "100,2025-12-30T13:00:00Z,1,7,5,USD,online,5411,US,d1,0,none,\n"                       // duplicate_id (in file)
      "107,2025-12-30T12:00:00Z,,7,5,USD,online,5411,US,d1,0,none,\n"                        // missing_field
      "108,2025-12-30T12:00:00Z,1,7,five,USD,online,5411,US,d1,0,none,\n"                    // malformed amount
      "109,yesterday,1,7,5,USD,online,5411,US,d1,0,none,\n"                                  // malformed ts
      "110,2025-12-30T12:00:00Z,1,7,5,USD\n"                                                 // malformed: fields
      "111,2025-12-30T12:00:00Z,1,7,5,USD,online,\"54\"11,US,d1,0,none,\n"                   // malformed: quoting
      "112,2025-12-30T12:00:00Z,1,7,5,USD,online,5411,US,d1,maybe,none,\n"                   // malformed is_fraud
      "113,2025-12-30T12:00:00Z,1,7,5,USD,online,5411,US,d1,1,aliens,\n"                     // malformed scenario
      "114,2025-12-30T12:00:00Z,1,7,5,,online,5411,US,d1,0,none,\n";                         // missing_field currency
  auto stats = Import(csv);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows, 16);
  EXPECT_EQ(stats->accepted, 3);
  std::map<std::string, int64_t> expected = {{"missing_amount", 1}, {"negative_amount", 1}, {"unknown_customer", 1},
                                             {"future_timestamp", 1}, {"duplicate_id", 1}, {"missing_field", 2},
                                             {"malformed", 6}};
  EXPECT_EQ(stats->quarantined, expected);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM transactions"), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM transactions WHERE transaction_id NOT IN (100, 101, 102)"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM quarantine"), 13);
  // The stored row keeps the reason, a detail naming the field, the line and the raw text.
  std::string reason, detail, raw;
  int64_t line = 0;
  ASSERT_TRUE(db_->Query("SELECT reason, detail, line, raw FROM quarantine WHERE transaction_id = 104", {},
                         [&](const storage::DbRow& r) {
                           reason = r.Text(0);
                           detail = r.Text(1);
                           line = r.Int(2);
                           raw = r.Text(3);
                           return Status::OK();
                         }).ok());
  EXPECT_EQ(reason, "negative_amount");
  EXPECT_NE(detail.find("amount -4.5"), std::string::npos);
  EXPECT_EQ(line, 6);
  EXPECT_EQ(raw, "104,2025-12-30T12:00:00Z,1,7,-4.5,USD,online,5411,US,d1,0,none,");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM quarantine WHERE reason = 'malformed' AND detail LIKE '%five%'"), 1);
  // Counted towards their day where the time parsed.
  auto counts = QuarantineCounts(db_.get(), *ParseDay("2025-12-30"), *ParseDay("2025-12-31"));
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->at("negative_amount"), 1);
  EXPECT_EQ(counts->at("future_timestamp"), 0);  // 2026-01-05 is another day
  // Stored values.
  EXPECT_EQ(Count("SELECT is_fraud FROM transactions WHERE transaction_id = 101"), 1);
  EXPECT_EQ(Count("SELECT label_ts FROM transactions WHERE transaction_id = 101"), *ParseDay("2026-01-02"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM transactions WHERE device_id IS NULL"), 2);
  EXPECT_EQ(Count("SELECT ts FROM transactions WHERE transaction_id = 102"), 1767052800);
}

TEST_P(CsvImportTest, IdsAlreadyStoredAreDuplicatesAndNewCustomersCanBeAdded) {
  std::string row = "1,2025-12-30T10:00:00Z,9,7,1.5\n";
  auto first = Import(std::string("transaction_id,ts,customer_id,terminal_id,amount\n") + row);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->quarantined.at("unknown_customer"), 1);
  ImportOptions o;
  o.new_customers = true;
  auto second = Import(std::string("transaction_id,ts,customer_id,terminal_id,amount\n") + row, o);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->accepted, 1);
  EXPECT_EQ(second->new_customers, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM customers WHERE customer_id = 9"), 1);
  // Defaults for absent optional fields.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM transactions WHERE currency = 'unknown' AND fraud_scenario = 'none'"), 1);
  auto third = Import(std::string("transaction_id,ts,customer_id,terminal_id,amount\n") + row);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->quarantined.at("duplicate_id"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM transactions"), 1);
}

TEST_P(CsvImportTest, MappedColumnsQuotedFieldsAndIgnoredColumns) {
  ImportOptions o;
  o.column_to_field = *ParseFieldMap("id=transaction_id,when=ts,cust=customer_id,merchant=terminal_id,value=amount,mcc=merchant_category");
  auto stats = Import("id,when,cust,merchant,value,mcc,note\n"
                      "7,2025-12-31T00:00:00Z,1,3,9.99,\"59,99\",\"multi\nline note\"\n"
                      "8,2025-12-31T00:00:01Z,2,3,1,5411,x\n",
                      o);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->accepted, 2);
  EXPECT_EQ(stats->ignored_columns, std::vector<std::string>{"note"});
  EXPECT_EQ(Count("SELECT COUNT(*) FROM transactions WHERE merchant_category = '59,99'"), 1);
}

TEST_P(CsvImportTest, ByteOrderMarkCrlfAndBlankLines) {
  auto stats = Import("\xEF\xBB\xBFtransaction_id,ts,customer_id,terminal_id,amount\r\n"
                      "1,2025-12-30T10:00:00Z,1,1,1.5\r\n"
                      "\r\n"
                      "\n"
                      "2,2025-12-30T10:00:00Z,1,1,-1\r\n"
                      "3,2025-12-30T10:00:00Z,1,1,2");  // no newline at the end
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows, 3);
  EXPECT_EQ(stats->accepted, 2);
  EXPECT_EQ(stats->quarantined.at("negative_amount"), 1);
  EXPECT_EQ(Count("SELECT line FROM quarantine"), 5);  // blank lines still count as lines
  EXPECT_EQ(Count("SELECT COUNT(*) FROM quarantine WHERE raw = '2,2025-12-30T10:00:00Z,1,1,-1'"), 1);
}

TEST_P(CsvImportTest, FilesThatCannotBeTransactionsAreErrorsAndWriteNothing) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"", "", "empty file"},
      {"transaction_id,ts,customer_id,terminal_id\n1,2025-12-30T10:00:00Z,1,1\n", "",
       "no column for required field 'amount'"},
      {"a,b\n1,2\n", "a=transaction_id,b=ts,zzz=amount", "does not have"},
      {"id,ts,customer_id,terminal_id,amount,transaction_id\n", "id=transaction_id", "both map to field 'transaction_id'"},
  };
  for (const auto& [csv, map, expected] : cases) {
    ImportOptions o;
    if (!map.empty()) o.column_to_field = *ParseFieldMap(map);
    auto stats = Import(csv, o);
    ASSERT_FALSE(stats.ok()) << csv;
    EXPECT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(stats.status().message().find(expected), std::string::npos) << stats.status().message();
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM transactions") + Count("SELECT COUNT(*) FROM quarantine"), 0);
  auto missing = ImportCsv(db_.get(), dir_ / "nope.csv", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_P(CsvImportTest, ExportThenImportRoundTrips) {
  GeneratorOptions g;
  g.customers = 50;
  g.terminals = 100;
  g.days = 2;
  g.start_ts = *ParseDay("2025-12-01");
  auto gen = Generate(db_.get(), g);
  ASSERT_TRUE(gen.ok()) << gen.status().ToString();
  std::ostringstream out;
  auto rows = ExportCsv(db_.get(), g.start_ts, g.start_ts + 2 * kSecondsPerDay, out);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, gen->rows);
  EXPECT_EQ(out.str().substr(0, std::string(kHeader).size()), kHeader);

  test::TempDir other;
  auto copy = storage::OpenDb("sqlite:" + other / "copy.db", other.path());
  ASSERT_TRUE(copy.ok());
  test::WriteFile(other / "export.csv", out.str());
  ImportOptions o;
  o.new_customers = true;
  o.now = kNow;
  auto imported = ImportCsv(copy->get(), other / "export.csv", o);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(imported->accepted, gen->rows);
  std::ostringstream again;
  ASSERT_TRUE(ExportCsv(copy->get(), 0, INT64_MAX, again).ok());
  EXPECT_EQ(again.str(), out.str());
}

INSTANTIATE_TEST_SUITE_P(Engines, CsvImportTest, ::testing::Values("sqlite", "postgres"));

TEST(FieldMap, BadSpecsNameTheEntry) {
  EXPECT_NE(ParseFieldMap("a").status().message().find("'a' is not column=field"), std::string::npos);
  EXPECT_NE(ParseFieldMap("a=").status().message().find("is not column=field"), std::string::npos);
  EXPECT_NE(ParseFieldMap("a=amount,b=price").status().message().find("'price' is not a field"), std::string::npos);
  auto ok = ParseFieldMap("a=amount,b=ts");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 2u);
}

TEST(Timestamps, ParseAndFormat) {
  EXPECT_EQ(*ParseDay("1970-01-02"), 86400);
  EXPECT_EQ(*ParseDay("2024-02-29"), 1709164800);
  EXPECT_FALSE(ParseDay("2023-02-29").ok());
  EXPECT_FALSE(ParseDay("2026-13-01").ok());
  EXPECT_FALSE(ParseDay("2026-1-1").ok());
  EXPECT_EQ(*ParseTimestamp("2026-01-01T00:00:00Z"), kNow);
  EXPECT_EQ(*ParseTimestamp("2026-01-01 00:00:01"), kNow + 1);
  EXPECT_EQ(*ParseTimestamp("2026-01-01T00:00:00+00:00"), kNow);
  EXPECT_EQ(*ParseTimestamp("1767225600"), kNow);
  EXPECT_FALSE(ParseTimestamp("2026-01-01T00:00:00+02:00").has_value());
  EXPECT_FALSE(ParseTimestamp("2026-01-01T25:00:00Z").has_value());
  EXPECT_FALSE(ParseTimestamp("12abc").has_value());
  EXPECT_EQ(FormatTimestamp(kNow + 3661), "2026-01-01T01:01:01Z");
  EXPECT_EQ(FormatDay(kNow + 3661), "2026-01-01");
}

}  // namespace
}  // namespace lathe::ml
