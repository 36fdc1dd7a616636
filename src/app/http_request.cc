#include "app/http_request.h"

namespace lathe::app {

using json = nlohmann::json;

Result<ApiKey> AuthenticateRequest(ApiKeyVerifier* keys, const net::Exchange& ex, Scope needed) {
  std::string auth = ex.header("Authorization");
  std::string presented;
  if (auth.size() > 7 && (auth.compare(0, 7, "Bearer ") == 0 || auth.compare(0, 7, "bearer ") == 0)) {
    presented = auth.substr(7);
  } else {
    presented = ex.header("X-API-Key");
  }
  LATHE_ASSIGN_OR_RETURN(ApiKey key, keys->Verify(presented));
  if (needed == Scope::kAdmin && key.scope != Scope::kAdmin) {
    return Status(StatusCode::kPermissionDenied, "this route needs an API key with the admin scope");
  }
  return key;
}

Result<json> ParseJsonBody(const net::Exchange& ex) {
  const std::string& body = ex.request().body();
  if (body.empty()) return InvalidArgument("request body is empty; expected a JSON object");
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return InvalidArgument("request body is not valid JSON");
  if (!j.is_object()) return InvalidArgument("request body must be a JSON object");
  return j;
}

std::string FieldReader::String(const char* name, bool required, size_t max_bytes) {
  auto it = body_.find(name);
  if (it == body_.end() || it->is_null()) {
    if (required) Fail(std::string("field '") + name + "' is required");
    return "";
  }
  if (!it->is_string()) {
    Fail(std::string("field '") + name + "' must be a string");
    return "";
  }
  std::string v = it->get<std::string>();
  if (required && v.empty()) Fail(std::string("field '") + name + "' must not be empty");
  if (v.size() > max_bytes) {
    Fail(std::string("field '") + name + "' is longer than " + std::to_string(max_bytes) + " bytes");
  }
  return v;
}

bool FieldReader::Bool(const char* name) {
  auto it = body_.find(name);
  if (it == body_.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    Fail(std::string("field '") + name + "' must be true or false");
    return false;
  }
  return it->get<bool>();
}

void FieldReader::Fail(std::string message) {
  if (status_.ok()) status_ = InvalidArgument(std::move(message));
}

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Invalid escapes are kept literally.
std::string FormDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 && HexDigit(s[i + 2]) >= 0) {
      out += static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> QueryParams(const net::Exchange& ex) {
  std::map<std::string, std::string> out;
  std::string_view target = ex.request().target();
  size_t q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view query = target.substr(q + 1);
  if (size_t hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name = FormDecode(pair.substr(0, eq));
    out[name] = eq == std::string_view::npos ? std::string() : FormDecode(pair.substr(eq + 1));
  }
  return out;
}

}  // namespace lathe::app
