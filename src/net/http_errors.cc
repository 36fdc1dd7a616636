#include "net/http_errors.h"

#include <nlohmann/json.hpp>

namespace lathe::net {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnsupported: return 415;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
    case StatusCode::kCorruption:
    case StatusCode::kIOError:
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

const char* ErrorTypeFor(int http_status) {
  switch (http_status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 408:
    case 504: return "timeout_error";
    case 429: return "rate_limit_error";
    default: return http_status < 500 ? "invalid_request_error" : "server_error";
  }
}

static std::string SnakeName(StatusCode code) {
  if (code == StatusCode::kIOError) return "io_error";
  std::string name = StatusCodeName(code), out;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') {
      if (i > 0) out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

std::string ErrorBody(int http_status, const std::string& message, const std::string& code) {
  nlohmann::json body = {{"error", {{"message", message}, {"type", ErrorTypeFor(http_status)}, {"code", code}}}};
  return body.dump();
}

std::string ErrorBody(const Status& status, const std::string& code) {
  return ErrorBody(HttpStatusFor(status.code()), status.message(), code.empty() ? SnakeName(status.code()) : code);
}

}  // namespace lathe::net
