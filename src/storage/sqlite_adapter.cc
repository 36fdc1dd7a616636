#include "storage/sqlite_adapter.h"

#include <string>

namespace lathe::storage {
namespace {

class SqliteRow : public DbRow {
 public:
  explicit SqliteRow(sqlite3_stmt* stmt) : stmt_(stmt) {}
  int size() const override { return sqlite3_column_count(stmt_); }
  bool IsNull(int col) const override { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) const override { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const override { return sqlite3_column_double(stmt_, col); }
  std::string_view Text(int col) const override {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    if (!p) return {};
    return {reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
  }

 private:
  sqlite3_stmt* stmt_;
};

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

class SqliteAdapter;

class SqliteBulkWriter : public BulkWriter {
 public:
  // owns_tx: the writer began the transaction and ends it.
  SqliteBulkWriter(SqliteAdapter* db, StmtPtr stmt, bool owns_tx)
      : db_(db), stmt_(std::move(stmt)), owns_tx_(owns_tx) {}
  ~SqliteBulkWriter() override;
  void Null() override { sqlite3_bind_null(stmt_.get(), ++col_); }
  void Int(int64_t v) override { sqlite3_bind_int64(stmt_.get(), ++col_, v); }
  void Double(double v) override { sqlite3_bind_double(stmt_.get(), ++col_, v); }
  void Text(std::string_view v) override {
    sqlite3_bind_text(stmt_.get(), ++col_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  Status EndRow() override;
  Status Finish() override;

 private:
  SqliteAdapter* db_;
  StmtPtr stmt_;
  int col_ = 0;
  bool owns_tx_;
  bool done_ = false;
};

class SqliteAdapter : public Db {
 public:
  explicit SqliteAdapter(std::unique_ptr<SqliteDb> db) : db_(std::move(db)), url_("sqlite:" + db_->path()) {}
  DbEngine engine() const override { return DbEngine::kSqlite; }
  const std::string& url() const override { return url_; }

  Status Exec(std::string_view sql) override { return db_->Exec(sql); }

  Result<int64_t> Execute(std::string_view sql, const std::vector<DbValue>& params) override {
    LATHE_ASSIGN_OR_RETURN(StmtPtr stmt, PrepareBound(sql, params));
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return Error(sql);
    return static_cast<int64_t>(sqlite3_changes(db_->handle()));
  }

  Status Query(std::string_view sql, const std::vector<DbValue>& params, const RowCallback& on_row) override {
    LATHE_ASSIGN_OR_RETURN(StmtPtr stmt, PrepareBound(sql, params));
    SqliteRow row(stmt.get());
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      LATHE_RETURN_IF_ERROR(on_row(row));
    }
    if (rc != SQLITE_DONE) return Error(sql);
    return Status::OK();
  }

  std::string ColumnsQuery() const override { return "SELECT name, type FROM pragma_table_info($1)"; }

  Result<std::unique_ptr<BulkWriter>> BulkInsert(const std::string& table,
                                                 const std::vector<std::string>& columns) override {
    std::string sql = "INSERT INTO " + table + " (";
    std::string values;
    for (size_t i = 0; i < columns.size(); ++i) {
      sql += (i ? ", " : "") + columns[i];
      values += (i ? ", ?" : "?");
    }
    sql += ") VALUES (" + values + ")";
    const bool owns_tx = sqlite3_get_autocommit(db_->handle()) != 0;
    if (owns_tx) LATHE_RETURN_IF_ERROR(Begin());
    auto stmt = PrepareBound(sql, {});
    if (!stmt.ok()) {
      if (owns_tx) (void)Rollback();
      return stmt.status();
    }
    return std::unique_ptr<BulkWriter>(new SqliteBulkWriter(this, std::move(stmt).value(), owns_tx));
  }

  Status Begin() override { return db_->Exec("BEGIN IMMEDIATE"); }
  Status Commit() override { return db_->Exec("COMMIT"); }
  Status Rollback() override { return db_->Exec("ROLLBACK"); }

  Status Error(std::string_view sql) const {
    std::string msg = std::string("sqlite: ") + sqlite3_errmsg(db_->handle());
    int rc = sqlite3_errcode(db_->handle());
    if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) return Corruption(db_->path() + ": " + msg);
    if (rc == SQLITE_CONSTRAINT) return AlreadyExists(msg);
    return IOError(msg);
  }

 private:
  // Prepares sql and binds params[i] to the placeholder "$<i+1>" (or to
  // position i+1 for "?" placeholders).
  Result<StmtPtr> PrepareBound(std::string_view sql, const std::vector<DbValue>& params) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_->handle(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return Error(sql);
    for (size_t i = 0; i < params.size(); ++i) {
      std::string name = "$" + std::to_string(i + 1);
      int pos = sqlite3_bind_parameter_index(stmt.get(), name.c_str());
      if (pos == 0) pos = static_cast<int>(i + 1);
      const DbValue& v = params[i];
      if (std::holds_alternative<int64_t>(v)) {
        sqlite3_bind_int64(stmt.get(), pos, std::get<int64_t>(v));
      } else if (std::holds_alternative<double>(v)) {
        sqlite3_bind_double(stmt.get(), pos, std::get<double>(v));
      } else if (std::holds_alternative<std::string>(v)) {
        const std::string& s = std::get<std::string>(v);
        sqlite3_bind_text(stmt.get(), pos, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_null(stmt.get(), pos);
      }
    }
    return stmt;
  }

  friend class SqliteBulkWriter;
  std::unique_ptr<SqliteDb> db_;
  std::string url_;
};

SqliteBulkWriter::~SqliteBulkWriter() {
  if (!done_ && owns_tx_) {
    stmt_.reset();
    (void)db_->Rollback();
  }
}

Status SqliteBulkWriter::EndRow() {
  col_ = 0;
  int rc = sqlite3_step(stmt_.get());
  sqlite3_reset(stmt_.get());
  if (rc != SQLITE_DONE) return db_->Error("bulk insert");
  return Status::OK();
}

Status SqliteBulkWriter::Finish() {
  stmt_.reset();
  done_ = true;
  if (!owns_tx_) return Status::OK();
  Status st = db_->Commit();
  if (!st.ok()) (void)db_->Rollback();
  return st;
}

}  // namespace

Result<std::unique_ptr<Db>> OpenSqliteAdapter(const std::string& path) {
  LATHE_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  return std::unique_ptr<Db>(new SqliteAdapter(std::move(db)));
}

}  // namespace lathe::storage
