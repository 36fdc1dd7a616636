// The body of POST /v1/models/{name}/predict parsed into transactions: one
// transaction object, or {"transactions": [...]} (docs/serving.md). Every
// refusal names the field (and the batch index) and why. Pure function;
// thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <variant>
#include <vector>

#include "common/status.h"
#include "ml/features/online.h"

namespace lathe::app {

struct PredictRequest {
  std::vector<ml::OnlineTransaction> transactions;
  bool batch = false;   // the body had "transactions"
  bool explain = true;  // "explain": false skips the contributions
};

struct PredictRequestError {
  std::string message;
  std::string code;  // invalid_transaction, empty_batch, batch_too_large
};

// InvalidArgument-style failure as a PredictRequestError (HTTP 400, or 413
// for batch_too_large) on any bad field; max_batch bounds the batch size.
std::variant<PredictRequest, PredictRequestError> ParsePredictRequest(const nlohmann::json& body, size_t max_batch);

}  // namespace lathe::app
