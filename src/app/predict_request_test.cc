#include "app/predict_request.h"

#include <gtest/gtest.h>

namespace lathe::app {
namespace {

using json = nlohmann::json;

json Good() {
  return {{"transaction_id", 1}, {"ts", 1767225600}, {"customer_id", 2}, {"terminal_id", 3}, {"amount", 12.5}};
}

TEST(PredictRequest, ParsesOneTransactionAndABatch) {
  auto one = ParsePredictRequest(Good(), 10);
  ASSERT_TRUE(std::holds_alternative<PredictRequest>(one));
  const auto& r = std::get<PredictRequest>(one);
  EXPECT_FALSE(r.batch);
  ASSERT_EQ(r.transactions.size(), 1u);
  EXPECT_EQ(r.transactions[0].transaction_id, 1);
  EXPECT_EQ(r.transactions[0].ts, 1767225600);
  EXPECT_EQ(r.transactions[0].customer_id, 2);
  EXPECT_EQ(r.transactions[0].terminal_id, 3);
  EXPECT_DOUBLE_EQ(r.transactions[0].amount, 12.5);
  EXPECT_EQ(r.transactions[0].device_id, "");
  EXPECT_TRUE(r.explain);

  json iso = Good();
  iso["ts"] = "2026-01-01T00:00:00Z";
  iso["device_id"] = "d7";
  iso["currency"] = "EUR";  // raw fields the features do not read are ignored
  auto batch = ParsePredictRequest({{"transactions", {Good(), iso}}, {"explain", false}}, 10);
  ASSERT_TRUE(std::holds_alternative<PredictRequest>(batch));
  const auto& b = std::get<PredictRequest>(batch);
  EXPECT_TRUE(b.batch);
  EXPECT_FALSE(b.explain);
  ASSERT_EQ(b.transactions.size(), 2u);
  EXPECT_EQ(b.transactions[1].ts, 1767225600);
  EXPECT_EQ(b.transactions[1].device_id, "d7");
}

// Each bad body and the start of its message and code.
TEST(PredictRequest, RefusesEachKindOfBadInput) {
  auto with = [](const char* field, json value) {
    json j = Good();
    if (value.is_discarded()) {
      j.erase(field);
    } else {
      j[field] = value;
    }
    return j;
  };
  const json missing = json(json::value_t::discarded);
  struct Case {
    json body;
    std::string message, code;
  };
  std::vector<Case> cases = {
      {with("transaction_id", missing), "field 'transaction_id' is required", "invalid_transaction"},
      {with("customer_id", missing), "field 'customer_id' is required", "invalid_transaction"},
      {with("terminal_id", missing), "field 'terminal_id' is required", "invalid_transaction"},
      {with("ts", missing), "field 'ts' is required", "invalid_transaction"},
      {with("amount", missing), "field 'amount' is required", "invalid_transaction"},
      {with("transaction_id", "17"), "field 'transaction_id' must be an integer", "invalid_transaction"},
      {with("customer_id", 2.5), "field 'customer_id' must be an integer", "invalid_transaction"},
      {with("terminal_id", true), "field 'terminal_id' must be an integer", "invalid_transaction"},
      {with("transaction_id", 18446744073709551615ull), "field 'transaction_id' is too large", "invalid_transaction"},
      {with("amount", "12"), "field 'amount' must be a number", "invalid_transaction"},
      {with("amount", -1), "field 'amount' must be a finite number >= 0", "invalid_transaction"},
      {with("amount", 1e309), "field 'amount' must be a finite number >= 0", "invalid_transaction"},
      {with("ts", "yesterday"), "field 'ts' must be unix seconds or ISO-8601", "invalid_transaction"},
      {with("ts", "2026-13-01T00:00:00Z"), "field 'ts' must be unix seconds or ISO-8601", "invalid_transaction"},
      {with("ts", 1.5), "field 'ts' must be unix seconds (an integer)", "invalid_transaction"},
      {with("ts", -5), "field 'ts' must be between 1970-01-01 and 9999-12-31", "invalid_transaction"},
      {with("ts", 300000000000), "field 'ts' must be between", "invalid_transaction"},
      {with("device_id", 5), "field 'device_id' must be a string or null", "invalid_transaction"},
      {with("device_id", std::string(300, 'x')), "field 'device_id' is longer than 256 bytes", "invalid_transaction"},
      {{{"transactions", json::array()}}, "field 'transactions' is empty", "empty_batch"},
      {{{"transactions", Good()}}, "field 'transactions' must be an array", "invalid_transaction"},
      {{{"transactions", {Good(), Good(), Good()}}}, "a batch holds at most 2 transactions (models.max_batch), got 3",
       "batch_too_large"},
      {{{"transactions", {Good(), 5}}}, "transactions[1]: must be a JSON object", "invalid_transaction"},
      {{{"transactions", {Good(), with("amount", nullptr)}}}, "transactions[1]: field 'amount' is required",
       "invalid_transaction"},
      {with("explain", "no"), "field 'explain' must be true or false", "invalid_transaction"},
  };
  for (const Case& c : cases) {
    auto r = ParsePredictRequest(c.body, 2);
    ASSERT_TRUE(std::holds_alternative<PredictRequestError>(r)) << c.body.dump();
    const auto& e = std::get<PredictRequestError>(r);
    EXPECT_EQ(e.message.rfind(c.message, 0), 0u) << "got: " << e.message << "\nwant: " << c.message;
    EXPECT_EQ(e.code, c.code) << c.body.dump();
  }
}

}  // namespace
}  // namespace lathe::app
