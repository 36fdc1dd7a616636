#include "storage/db.h"

#include <cctype>
#include <filesystem>

#include "storage/migrations.h"
#include "storage/postgres_adapter.h"
#include "storage/sqlite_adapter.h"

namespace lathe::storage {

Result<int64_t> Db::QueryInt(std::string_view sql, const std::vector<DbValue>& params) {
  int64_t out = 0;
  bool seen = false;
  LATHE_RETURN_IF_ERROR(Query(sql, params, [&](const DbRow& r) {
    if (!seen && r.size() > 0 && !r.IsNull(0)) out = r.Int(0);
    seen = true;
    return Status::OK();
  }));
  return out;
}

namespace {
// Folds an engine's declared type (SQLite affinity names or PostgreSQL's
// information_schema data_type) to int, float or string.
std::string FoldType(const std::string& declared) {
  std::string u;
  for (char c : declared) u += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (u.find("INT") != std::string::npos || u == "BOOLEAN") return "int";
  if (u.find("REAL") != std::string::npos || u.find("DOUB") != std::string::npos ||
      u.find("FLOA") != std::string::npos || u.find("NUMERIC") != std::string::npos)
    return "float";
  if (u.empty() || u.find("CHAR") != std::string::npos || u.find("TEXT") != std::string::npos ||
      u.find("CLOB") != std::string::npos)
    return "string";
  return declared;
}
}  // namespace

Result<std::vector<DbColumn>> Db::Columns(const std::string& table) {
  std::vector<DbColumn> cols;
  LATHE_RETURN_IF_ERROR(Query(ColumnsQuery(), {table}, [&](const DbRow& r) {
    std::string declared(r.Text(1));
    cols.push_back(DbColumn{std::string(r.Text(0)), FoldType(declared), declared});
    return Status::OK();
  }));
  if (cols.empty()) return NotFound("table '" + table + "' does not exist");
  return cols;
}

std::string RedactUrl(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t at = url.find('@', scheme + 3);
  if (at == std::string::npos) return url;
  size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

Result<std::unique_ptr<Db>> OpenDb(const std::string& url, const std::string& data_dir) {
  std::unique_ptr<Db> db;
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
    LATHE_ASSIGN_OR_RETURN(db, OpenPostgresAdapter(url));
  } else {
    std::string path;
    if (url.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(data_dir, ec);
      if (ec) return IOError(data_dir + ": cannot create data directory (" + ec.message() + ")");
      path = data_dir + "/lathe.db";
    } else if (url.rfind("sqlite://", 0) == 0) {
      path = url.substr(9);  // sqlite:///abs/file.db -> /abs/file.db
    } else if (url.rfind("sqlite:", 0) == 0) {
      path = url.substr(7);
    } else if (size_t p = url.find("://"); p != std::string::npos) {
      return InvalidArgument("database URL '" + RedactUrl(url) + "' has unknown scheme '" + url.substr(0, p) +
                             "' (expected postgres://, postgresql://, sqlite: or a file path)");
    } else {
      path = url;
    }
    if (path.empty()) return InvalidArgument("database URL '" + url + "' names no file");
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty() && !std::filesystem::is_directory(parent))
      return InvalidArgument("database URL '" + url + "': directory '" + parent.string() + "' does not exist");
    LATHE_ASSIGN_OR_RETURN(db, OpenSqliteAdapter(path));
  }
  LATHE_RETURN_IF_ERROR(Migrate(db.get()));
  return db;
}

}  // namespace lathe::storage
