#include "app/api_keys.h"

#include <cctype>

#include "common/clock.h"
#include "common/file_util.h"
#include "common/random_id.h"

namespace lathe::app {

const char* ScopeName(Scope scope) { return scope == Scope::kAdmin ? "admin" : "query"; }

Result<Scope> ParseScope(const std::string& name) {
  if (name == "query") return Scope::kQuery;
  if (name == "admin") return Scope::kAdmin;
  return InvalidArgument("unknown scope '" + name + "' (expected query or admin)");
}

Status ValidateTenant(const std::string& tenant) {
  if (tenant.empty() || tenant.size() > 64) return InvalidArgument("tenant must be 1 to 64 characters");
  for (char c : tenant) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return InvalidArgument("tenant '" + tenant + "' may contain only letters, digits, '_', '-' and '.'");
    }
  }
  return Status::OK();
}

Result<std::string> CreateApiKey(storage::SqliteDb* db, const std::string& tenant, Scope scope,
                                 const std::string& name) {
  LATHE_RETURN_IF_ERROR(ValidateTenant(tenant));
  std::string key_id = RandomHex(6);
  std::string key = "lk_" + key_id + "_" + RandomHex(24);
  LATHE_ASSIGN_OR_RETURN(auto st, db->Prepare("INSERT INTO api_keys (key_id, secret_hash, tenant, scope, name, "
                                              "created_at) VALUES (?, ?, ?, ?, ?, ?)"));
  st.Bind(1, key_id).Bind(2, Sha256Hex(key)).Bind(3, tenant).Bind(4, std::string(ScopeName(scope)));
  st.Bind(5, name).Bind(6, NowIso());
  LATHE_RETURN_IF_ERROR(st.Run());
  return key;
}

Result<std::vector<ApiKey>> ListApiKeys(storage::SqliteDb* db) {
  LATHE_ASSIGN_OR_RETURN(auto q, db->Prepare("SELECT key_id, tenant, scope, name, created_at, revoked FROM api_keys "
                                             "ORDER BY id"));
  std::vector<ApiKey> out;
  while (q.Step()) {
    ApiKey k;
    k.key_id = q.Text(0);
    k.tenant = q.Text(1);
    k.scope = q.Text(2) == "admin" ? Scope::kAdmin : Scope::kQuery;
    k.name = q.Text(3);
    k.created_at = q.Text(4);
    k.revoked = q.Int(5) != 0;
    out.push_back(std::move(k));
  }
  LATHE_RETURN_IF_ERROR(q.status());
  return out;
}

Status RevokeApiKey(storage::SqliteDb* db, const std::string& key_id) {
  LATHE_ASSIGN_OR_RETURN(auto st, db->Prepare("UPDATE api_keys SET revoked = 1 WHERE key_id = ?"));
  st.Bind(1, key_id);
  LATHE_RETURN_IF_ERROR(st.Run());
  LATHE_ASSIGN_OR_RETURN(auto q, db->Prepare("SELECT changes()"));
  q.Step();
  if (q.Int(0) == 0) return NotFound("no API key with id '" + key_id + "'");
  return Status::OK();
}

Status ApiKeyVerifier::Reload() {
  LATHE_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT key_id, secret_hash, tenant, scope, revoked FROM api_keys"));
  std::map<std::string, std::pair<std::string, ApiKey>> keys;
  while (q.Step()) {
    if (q.Int(4) != 0) continue;
    ApiKey k;
    k.key_id = q.Text(0);
    k.tenant = q.Text(2);
    k.scope = q.Text(3) == "admin" ? Scope::kAdmin : Scope::kQuery;
    keys[k.key_id] = {q.Text(1), k};
  }
  LATHE_RETURN_IF_ERROR(q.status());
  keys_ = std::move(keys);
  loaded_ = std::chrono::steady_clock::now();
  return Status::OK();
}

Result<ApiKey> ApiKeyVerifier::Verify(const std::string& presented) {
  const Status denied(StatusCode::kUnauthenticated,
                      "missing or invalid API key (send 'Authorization: Bearer <key>'; create one with "
                      "'lathe keys create')");
  // lk_ + 12 hex + _ + 48 hex
  if (presented.size() != 64 || presented.compare(0, 3, "lk_") != 0 || presented[15] != '_') return denied;
  std::string key_id = presented.substr(3, 12);
  std::string hash = Sha256Hex(presented);
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  auto it = keys_.find(key_id);
  // A key made since the last load is picked up on its first use, but
  // unknown key ids reload at most once a second: guessing keys must not
  // turn into a table scan per request.
  const bool stale = now - loaded_ > refresh_;
  const bool miss_may_reload = it == keys_.end() && now - loaded_ > std::chrono::seconds(1);
  if (stale || miss_may_reload) {
    LATHE_RETURN_IF_ERROR(Reload());
    it = keys_.find(key_id);
  }
  if (it == keys_.end() || !ConstantTimeEquals(it->second.first, hash)) return denied;
  return it->second.second;
}

}  // namespace lathe::app
