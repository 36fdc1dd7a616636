#include "app/predict_request.h"

#include <fmt/format.h>

#include <cmath>

#include "ml/data/transaction.h"

namespace lathe::app {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxTs = 253402300799;  // 9999-12-31T23:59:59Z
constexpr size_t kMaxDeviceBytes = 256;

// Reads one transaction object; the error names the field, prefixed by where.
std::optional<std::string> ReadTransaction(const json& j, const std::string& where, ml::OnlineTransaction* tx) {
  if (!j.is_object()) return where + "must be a JSON object";
  auto integer = [&](const char* name, int64_t* out) -> std::optional<std::string> {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return fmt::format("{}field '{}' is required", where, name);
    if (!it->is_number_integer()) return fmt::format("{}field '{}' must be an integer", where, name);
    if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return fmt::format("{}field '{}' is too large", where, name);
    *out = it->get<int64_t>();
    return std::nullopt;
  };
  if (auto e = integer("transaction_id", &tx->transaction_id)) return e;
  if (auto e = integer("customer_id", &tx->customer_id)) return e;
  if (auto e = integer("terminal_id", &tx->terminal_id)) return e;
  auto ts = j.find("ts");
  if (ts == j.end() || ts->is_null()) return where + "field 'ts' is required";
  if (ts->is_number_integer()) {
    tx->ts = ts->is_number_unsigned() && ts->get<uint64_t>() > static_cast<uint64_t>(kMaxTs) ? -1 : ts->get<int64_t>();
  } else if (ts->is_string()) {
    auto parsed = ml::ParseTimestamp(ts->get<std::string>());
    if (!parsed)
      return fmt::format("{}field 'ts' must be unix seconds or ISO-8601 (YYYY-MM-DDTHH:MM:SSZ), got '{}'", where,
                         ts->get<std::string>());
    tx->ts = *parsed;
  } else {
    return where + "field 'ts' must be unix seconds (an integer) or an ISO-8601 string";
  }
  if (tx->ts < 0 || tx->ts > kMaxTs)
    return fmt::format("{}field 'ts' must be between 1970-01-01 and 9999-12-31", where);
  auto amount = j.find("amount");
  if (amount == j.end() || amount->is_null()) return where + "field 'amount' is required";
  if (!amount->is_number()) return where + "field 'amount' must be a number";
  tx->amount = amount->get<double>();
  if (!std::isfinite(tx->amount) || tx->amount < 0)
    return fmt::format("{}field 'amount' must be a finite number >= 0, got {}", where, tx->amount);
  auto device = j.find("device_id");
  tx->device_id.clear();
  if (device != j.end() && !device->is_null()) {
    if (!device->is_string()) return where + "field 'device_id' must be a string or null";
    tx->device_id = device->get<std::string>();
    if (tx->device_id.size() > kMaxDeviceBytes)
      return fmt::format("{}field 'device_id' is longer than {} bytes", where, kMaxDeviceBytes);
  }
  return std::nullopt;
}

}  // namespace

std::variant<PredictRequest, PredictRequestError> ParsePredictRequest(const json& body, size_t max_batch) {
  PredictRequest req;
  if (auto explain = body.find("explain"); explain != body.end() && !explain->is_null()) {
    if (!explain->is_boolean()) return PredictRequestError{"field 'explain' must be true or false", "invalid_transaction"};
    req.explain = explain->get<bool>();
  }
  auto list = body.find("transactions");
  if (list == body.end()) {
    ml::OnlineTransaction tx;
    if (auto e = ReadTransaction(body, "", &tx)) return PredictRequestError{*e, "invalid_transaction"};
    req.transactions.push_back(std::move(tx));
    return req;
  }
  req.batch = true;
  if (!list->is_array()) return PredictRequestError{"field 'transactions' must be an array", "invalid_transaction"};
  if (list->empty())
    return PredictRequestError{"field 'transactions' is empty; send at least one transaction", "empty_batch"};
  if (list->size() > max_batch)
    return PredictRequestError{
        fmt::format("a batch holds at most {} transactions (models.max_batch), got {}", max_batch, list->size()),
        "batch_too_large"};
  req.transactions.resize(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    if (auto e = ReadTransaction((*list)[i], fmt::format("transactions[{}]: ", i), &req.transactions[i]))
      return PredictRequestError{*e, "invalid_transaction"};
  }
  return req;
}

}  // namespace lathe::app
