#include "storage/postgres_adapter.h"

#include <libpq-fe.h>

#include <cctype>
#include <cstdlib>
#include <fmt/format.h>

namespace lathe::storage {
namespace {

constexpr size_t kCopyFlushBytes = 1 << 20;
constexpr int kFetchRows = 20000;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

class PgRow : public DbRow {
 public:
  PgRow(PGresult* res, int row) : res_(res), row_(row) {}
  int size() const override { return PQnfields(res_); }
  bool IsNull(int col) const override { return PQgetisnull(res_, row_, col) != 0; }
  int64_t Int(int col) const override {
    const char* v = PQgetvalue(res_, row_, col);
    if (v[0] == 't') return 1;  // booleans arrive as t/f
    if (v[0] == 'f') return 0;
    return std::strtoll(v, nullptr, 10);
  }
  double Double(int col) const override { return std::strtod(PQgetvalue(res_, row_, col), nullptr); }
  std::string_view Text(int col) const override {
    return {PQgetvalue(res_, row_, col), static_cast<size_t>(PQgetlength(res_, row_, col))};
  }

 private:
  PGresult* res_;
  int row_;
};

class PostgresAdapter;

class PgBulkWriter : public BulkWriter {
 public:
  explicit PgBulkWriter(PostgresAdapter* db) : db_(db) { buf_.reserve(kCopyFlushBytes + 4096); }
  ~PgBulkWriter() override;
  void Null() override { Sep() += "\\N"; }
  void Int(int64_t v) override { fmt::format_to(std::back_inserter(Sep()), "{}", v); }
  void Double(double v) override { fmt::format_to(std::back_inserter(Sep()), "{}", v); }
  void Text(std::string_view v) override {
    std::string& b = Sep();
    for (char c : v) {
      switch (c) {
        case '\\': b += "\\\\"; break;
        case '\t': b += "\\t"; break;
        case '\n': b += "\\n"; break;
        case '\r': b += "\\r"; break;
        default: b += c;
      }
    }
  }
  Status EndRow() override {
    buf_ += '\n';
    first_ = true;
    if (buf_.size() >= kCopyFlushBytes) return Flush();
    return Status::OK();
  }
  Status Finish() override;

 private:
  std::string& Sep() {
    if (!first_) buf_ += '\t';
    first_ = false;
    return buf_;
  }
  Status Flush();

  PostgresAdapter* db_;
  std::string buf_;
  bool first_ = true;
  bool done_ = false;
};

class PostgresAdapter : public Db {
 public:
  PostgresAdapter(PGconn* conn, std::string url) : conn_(conn), url_(std::move(url)) {
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  }
  ~PostgresAdapter() override { PQfinish(conn_); }
  DbEngine engine() const override { return DbEngine::kPostgres; }
  const std::string& url() const override { return url_; }

  Status Exec(std::string_view sql) override {
    ResultPtr res(PQexec(conn_, std::string(sql).c_str()));
    return Check(res.get(), sql);
  }

  Result<int64_t> Execute(std::string_view sql, const std::vector<DbValue>& params) override {
    std::vector<std::string> storage;
    std::vector<const char*> values;
    Bind(params, &storage, &values);
    ResultPtr res(PQexecParams(conn_, std::string(sql).c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0));
    LATHE_RETURN_IF_ERROR(Check(res.get(), sql));
    const char* n = PQcmdTuples(res.get());
    return static_cast<int64_t>(n && *n ? std::strtoll(n, nullptr, 10) : 0);
  }

  // SELECTs stream through a cursor, kFetchRows rows per round trip (a
  // single-row-mode result per row cost about 1.3 us a row); other
  // statements run in single-row mode.
  Status Query(std::string_view sql, const std::vector<DbValue>& params, const RowCallback& on_row) override {
    std::vector<std::string> storage;
    std::vector<const char*> values;
    Bind(params, &storage, &values);
    if (!IsSelect(sql)) return QuerySingleRows(sql, values, on_row);
    const bool own_tx = PQtransactionStatus(conn_) == PQTRANS_IDLE;
    if (own_tx) LATHE_RETURN_IF_ERROR(Exec("BEGIN"));
    const std::string cursor = "lathe_cursor_" + std::to_string(++cursors_);
    ResultPtr declared(PQexecParams(conn_, ("DECLARE " + cursor + " NO SCROLL CURSOR FOR " + std::string(sql)).c_str(),
                                    static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0));
    Status status = Check(declared.get(), sql);
    const std::string fetch = "FETCH " + std::to_string(kFetchRows) + " FROM " + cursor;
    while (status.ok()) {
      ResultPtr batch(PQexec(conn_, fetch.c_str()));
      status = Check(batch.get(), sql);
      const int n = status.ok() ? PQntuples(batch.get()) : 0;
      for (int i = 0; i < n && status.ok(); ++i) status = on_row(PgRow(batch.get(), i));
      if (n < kFetchRows) break;
    }
    // After an error inside our own transaction, ROLLBACK also drops the cursor.
    if (own_tx) {
      Status end = Exec(status.ok() ? "COMMIT" : "ROLLBACK");
      if (status.ok()) status = end;
    } else if (PQtransactionStatus(conn_) == PQTRANS_INTRANS) {
      (void)Exec("CLOSE " + cursor);
    }
    return status;
  }

  std::string ColumnsQuery() const override {
    return "SELECT column_name, data_type FROM information_schema.columns "
           "WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position";
  }

  Result<std::unique_ptr<BulkWriter>> BulkInsert(const std::string& table,
                                                 const std::vector<std::string>& columns) override {
    std::string sql = "COPY " + table + " (";
    for (size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + columns[i];
    sql += ") FROM STDIN";
    ResultPtr res(PQexec(conn_, sql.c_str()));
    if (PQresultStatus(res.get()) != PGRES_COPY_IN) return ResultError(res.get(), sql);
    return std::unique_ptr<BulkWriter>(new PgBulkWriter(this));
  }

  Status Begin() override { return Exec("BEGIN"); }
  Status Commit() override { return Exec("COMMIT"); }
  Status Rollback() override { return Exec("ROLLBACK"); }

  PGconn* conn() const { return conn_; }

  Status Error(std::string_view what) const {
    return IOError("postgres: " + Trim(PQerrorMessage(conn_)));
  }
  Status ResultError(PGresult* res, std::string_view sql) const {
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    std::string msg = "postgres: " + Trim(res ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
    if (state && std::string_view(state) == "23505") return AlreadyExists(msg);
    if (PQstatus(conn_) != CONNECTION_OK) return Unavailable(msg);
    return IOError(msg);
  }
  Status Check(PGresult* res, std::string_view sql) const {
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return Status::OK();
    return ResultError(res, sql);
  }

 private:
  static bool IsSelect(std::string_view sql) {
    size_t i = sql.find_first_not_of(" \t\r\n(");
    if (i == std::string_view::npos || sql.size() - i < 6) return false;
    std::string head(sql.substr(i, 6));
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return head == "select" && (sql.size() - i == 6 || !std::isalnum(static_cast<unsigned char>(sql[i + 6])));
  }

  Status QuerySingleRows(std::string_view sql, const std::vector<const char*>& values, const RowCallback& on_row) {
    if (!PQsendQueryParams(conn_, std::string(sql).c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                           nullptr, nullptr, 0))
      return Error(sql);
    PQsetSingleRowMode(conn_);
    Status status;
    while (PGresult* raw = PQgetResult(conn_)) {
      ResultPtr res(raw);
      ExecStatusType st = PQresultStatus(raw);
      if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
        // Rows arrive one per result in single-row mode; the final TUPLES_OK
        // is empty (or holds every row if single-row mode was refused).
        for (int i = 0; i < PQntuples(raw) && status.ok(); ++i) {
          status = on_row(PgRow(raw, i));
          if (!status.ok()) PQrequestCancel(conn_);  // the rest is drained below
        }
      } else if (st != PGRES_COMMAND_OK && status.ok()) {
        status = ResultError(raw, sql);
      }
    }
    return status;
  }

  static void Bind(const std::vector<DbValue>& params, std::vector<std::string>* storage,
                   std::vector<const char*>* values) {
    storage->resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      const DbValue& v = params[i];
      if (std::holds_alternative<int64_t>(v)) {
        (*storage)[i] = std::to_string(std::get<int64_t>(v));
      } else if (std::holds_alternative<double>(v)) {
        (*storage)[i] = fmt::format("{}", std::get<double>(v));
      } else if (std::holds_alternative<std::string>(v)) {
        (*storage)[i] = std::get<std::string>(v);
      }
    }
    for (size_t i = 0; i < params.size(); ++i)
      values->push_back(std::holds_alternative<std::monostate>(params[i]) ? nullptr : (*storage)[i].c_str());
  }

  PGconn* conn_;
  std::string url_;
  int64_t cursors_ = 0;
};

PgBulkWriter::~PgBulkWriter() {
  if (!done_) {
    PQputCopyEnd(db_->conn(), "bulk write abandoned");
    while (PGresult* r = PQgetResult(db_->conn())) PQclear(r);
  }
}

Status PgBulkWriter::Flush() {
  if (buf_.empty()) return Status::OK();
  if (PQputCopyData(db_->conn(), buf_.data(), static_cast<int>(buf_.size())) != 1) return db_->Error("COPY");
  buf_.clear();
  return Status::OK();
}

Status PgBulkWriter::Finish() {
  done_ = true;
  Status st = Flush();
  if (PQputCopyEnd(db_->conn(), st.ok() ? nullptr : "flush failed") != 1 && st.ok()) st = db_->Error("COPY");
  while (PGresult* raw = PQgetResult(db_->conn())) {
    ResultPtr res(raw);
    if (st.ok() && PQresultStatus(raw) != PGRES_COMMAND_OK) st = db_->ResultError(raw, "COPY");
  }
  return st;
}

}  // namespace

Result<std::unique_ptr<Db>> OpenPostgresAdapter(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (!opts) {
    std::string msg = err ? Trim(err) : "out of memory";
    PQfreemem(err);
    return InvalidArgument("database URL '" + RedactUrl(url) + "' is not a valid PostgreSQL URL: " + msg);
  }
  bool has_timeout = false;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (std::string_view(o->keyword) == "connect_timeout" && o->val) has_timeout = true;
  }
  PQconninfoFree(opts);
  const char* keys[] = {"dbname", has_timeout ? nullptr : "connect_timeout", nullptr};
  const char* vals[] = {url.c_str(), "10", nullptr};
  PGconn* conn = PQconnectdbParams(keys, vals, 1);
  if (!conn) return ResourceExhausted("postgres: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = Trim(PQerrorMessage(conn));
    PQfinish(conn);
    return Unavailable("cannot connect to " + RedactUrl(url) + ": " + msg);
  }
  return std::unique_ptr<Db>(new PostgresAdapter(conn, RedactUrl(url)));
}

}  // namespace lathe::storage
