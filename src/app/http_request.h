// Reading an HTTP request in the route handlers: the caller's API key
// (Authorization: Bearer, or X-API-Key) checked against a scope, the JSON
// body, its typed fields (FieldReader keeps the first error) and the query
// string. Errors are Status values naming the field and what was expected;
// the routes turn them into OpenAI-style error bodies. Thread-safe (a
// FieldReader belongs to one request).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "app/api_keys.h"
#include "common/status.h"
#include "net/http_server.h"

namespace lathe::app {

// The caller's key: Unauthenticated for a missing or bad key,
// PermissionDenied when `needed` is admin and the key is not.
Result<ApiKey> AuthenticateRequest(ApiKeyVerifier* keys, const net::Exchange& ex, Scope needed);

// The body as a JSON object. InvalidArgument when empty, not JSON, or not
// an object.
Result<nlohmann::json> ParseJsonBody(const net::Exchange& ex);

// Reads typed fields of a JSON request body and keeps the first error, so a
// handler reads all its fields and checks once. body must outlive it.
class FieldReader {
 public:
  explicit FieldReader(const nlohmann::json& body) : body_(body) {}

  // "" when absent and not required. Errors: required and absent or empty,
  // not a string, longer than max_bytes.
  std::string String(const char* name, bool required, size_t max_bytes = 65536);
  // false when absent; an error when not a boolean.
  bool Bool(const char* name);

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

 private:
  void Fail(std::string message);
  const nlohmann::json& body_;
  Status status_;
};

// The request target's query parameters, percent-decoded ("+" is a space);
// a name given twice keeps its last value. Empty without a query string.
std::map<std::string, std::string> QueryParams(const net::Exchange& ex);

}  // namespace lathe::app
