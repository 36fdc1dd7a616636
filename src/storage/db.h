// Db: the database interface shared by the ML pipeline's stores (transactions,
// quarantine, validation results, later runs and the registry), with one
// adapter per engine: SQLite (embedded default) and PostgreSQL (libpq).
// SQL is written once with $1, $2, ... placeholders; both adapters accept it.
// A Db is one connection: not thread-safe, open one per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace lathe::storage {

enum class DbEngine { kSqlite, kPostgres };

// A bound parameter or a value read back: NULL, integer, real or text.
using DbValue = std::variant<std::monostate, int64_t, double, std::string>;

// One row of a result, valid only inside the callback that receives it.
// Columns are 0-based. Reading a NULL gives 0, 0.0 or "".
class DbRow {
 public:
  virtual ~DbRow() = default;
  virtual int size() const = 0;
  virtual bool IsNull(int col) const = 0;
  virtual int64_t Int(int col) const = 0;
  virtual double Double(int col) const = 0;
  virtual std::string_view Text(int col) const = 0;
};

// A column as the engine declares it, with its type folded to one of
// "int", "float", "string" (anything else is reported as declared).
struct DbColumn {
  std::string name;
  std::string type;
  std::string declared;
};

// Writes many rows to one table fast: a prepared INSERT inside one
// transaction on SQLite, COPY FROM STDIN on PostgreSQL. Values of each row are
// given in the column order passed to Db::BulkInsert. On its own, a bulk write
// is one transaction: nothing is visible until Finish() returns OK, and
// destroying an unfinished writer discards the rows. Started inside a
// DbTransaction, it is part of that transaction instead (several bulk writes
// then commit or roll back together; an abandoned one spoils the transaction
// on PostgreSQL, which must then be rolled back).
class BulkWriter {
 public:
  virtual ~BulkWriter() = default;
  virtual void Null() = 0;
  virtual void Int(int64_t v) = 0;
  virtual void Double(double v) = 0;
  virtual void Text(std::string_view v) = 0;
  // Ends the current row. Errors surface here or in Finish().
  virtual Status EndRow() = 0;
  virtual Status Finish() = 0;
};

class Db {
 public:
  using RowCallback = std::function<Status(const DbRow&)>;

  virtual ~Db() = default;
  virtual DbEngine engine() const = 0;
  // The URL the connection was opened from, with any password removed.
  virtual const std::string& url() const = 0;

  // Runs one or more statements without parameters.
  virtual Status Exec(std::string_view sql) = 0;
  // Runs one statement with $n parameters; returns the rows affected.
  virtual Result<int64_t> Execute(std::string_view sql, const std::vector<DbValue>& params = {}) = 0;
  // Runs a query and calls on_row for each row in order, streaming (large
  // results are not held in memory). A non-OK status from on_row stops the
  // query and is returned.
  virtual Status Query(std::string_view sql, const std::vector<DbValue>& params, const RowCallback& on_row) = 0;
  // The columns of a table in declaration order; NotFound when it does not exist.
  Result<std::vector<DbColumn>> Columns(const std::string& table);
  // Starts a bulk write (see BulkWriter). One at a time per connection.
  virtual Result<std::unique_ptr<BulkWriter>> BulkInsert(const std::string& table,
                                                         const std::vector<std::string>& columns) = 0;

  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;

  // Convenience: the first column of the first row as an integer (0 when
  // there is no row or it is NULL).
  Result<int64_t> QueryInt(std::string_view sql, const std::vector<DbValue>& params = {});

 protected:
  // A query with one parameter (the table) returning (name, declared type)
  // per column in order.
  virtual std::string ColumnsQuery() const = 0;
};

// Opens a database from a URL:
//   postgres://user[:password]@host[:port]/dbname[?options] (or postgresql://)
//   sqlite:///absolute/path.db, sqlite:relative/path.db, or a plain file path
// An empty URL opens <data_dir>/lathe.db. Applies the migrations (migrations.h)
// before returning. InvalidArgument names a malformed URL or unknown scheme;
// Unavailable when the server cannot be reached.
Result<std::unique_ptr<Db>> OpenDb(const std::string& url, const std::string& data_dir);

// Removes the password from a postgres URL for messages and logs.
std::string RedactUrl(const std::string& url);

// Rolls back unless Commit() succeeded.
class DbTransaction {
 public:
  explicit DbTransaction(Db* db) : db_(db) { status_ = db_->Begin(); }
  ~DbTransaction() {
    if (!done_ && status_.ok()) (void)db_->Rollback();
  }
  const Status& status() const { return status_; }
  Status Commit() {
    LATHE_RETURN_IF_ERROR(status_);
    done_ = true;
    return db_->Commit();
  }

 private:
  Db* db_;
  Status status_;
  bool done_ = false;
};

}  // namespace lathe::storage
