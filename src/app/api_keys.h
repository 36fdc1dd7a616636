// ApiKeys: the server's API keys. A key is "lk_<key id>_<secret>"; only the
// key id, the SHA-256 of the whole key, its tenant and scope are stored (in
// the catalog's api_keys table). Verification compares hashes in constant
// time. Verified keys are cached; the cache is reloaded every refresh interval
// and on an unknown key id (at most once a second), so that `lathe keys
// create/revoke` reach a running server.
// Create/List/Revoke are not thread-safe (CLI use); Verify is thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/sqlite_db.h"

namespace lathe::app {

enum class Scope { kQuery, kAdmin };
const char* ScopeName(Scope scope);
Result<Scope> ParseScope(const std::string& name);  // "query" | "admin"

struct ApiKey {
  std::string key_id;
  std::string tenant;
  Scope scope = Scope::kQuery;
  std::string name;
  std::string created_at;
  bool revoked = false;
};

// Tenant names: 1-64 of [A-Za-z0-9_.-].
Status ValidateTenant(const std::string& tenant);

// Creates a key and returns it in full (shown once; not recoverable).
Result<std::string> CreateApiKey(storage::SqliteDb* db, const std::string& tenant, Scope scope,
                                 const std::string& name);
Result<std::vector<ApiKey>> ListApiKeys(storage::SqliteDb* db);
// NotFound when no such key id.
Status RevokeApiKey(storage::SqliteDb* db, const std::string& key_id);

class ApiKeyVerifier {
 public:
  // db must outlive the verifier and is used only under the verifier's lock.
  explicit ApiKeyVerifier(storage::SqliteDb* db, std::chrono::seconds refresh = std::chrono::seconds(10))
      : db_(db), refresh_(refresh) {}
  // Unauthenticated (missing, malformed, unknown or revoked key — one message
  // that does not say which) or the key.
  Result<ApiKey> Verify(const std::string& presented);

 private:
  Status Reload();
  storage::SqliteDb* const db_;
  const std::chrono::seconds refresh_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, ApiKey>> keys_;  // key id -> (hash, key); guarded by mu_
  std::chrono::steady_clock::time_point loaded_{};              // guarded by mu_
};

}  // namespace lathe::app
