// The one table that maps Status codes to HTTP statuses and OpenAI-style
// error bodies: {"error": {"message", "type", "code"}}. Stateless.
#pragma once

#include <string>

#include "common/status.h"

namespace lathe::net {

// HTTP status for a non-OK Status (400, 401, 403, 404, 409, 429, 500, 503, 504...).
int HttpStatusFor(StatusCode code);

// OpenAI's error "type" for an HTTP status: invalid_request_error,
// authentication_error, permission_error, not_found_error, rate_limit_error,
// timeout_error, server_error.
const char* ErrorTypeFor(int http_status);

// The JSON error body. code is a short machine-readable reason
// ("body_too_large", "invalid_json", ...); when empty the Status code's name is used.
std::string ErrorBody(int http_status, const std::string& message, const std::string& code);
std::string ErrorBody(const Status& status, const std::string& code = "");

}  // namespace lathe::net
