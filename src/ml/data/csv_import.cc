#include "ml/data/csv_import.h"

#include <csv.h>

#include <charconv>
#include <cmath>
#include <ctime>
#include <fstream>
#include <optional>
#include <unordered_set>

#include <fmt/format.h>

#include "ml/data/quarantine.h"
#include "ml/data/transaction.h"

namespace lathe::ml {
namespace {

enum Field { kId, kTs, kCustomer, kTerminal, kAmount, kCurrency, kChannel, kCategory, kCountry, kDevice, kFraud,
             kScenario, kLabelTs, kFieldCount };
constexpr bool kRequired[kFieldCount] = {true, true, true, true, true};

int FieldIndex(const std::string& name) {
  const auto& cols = TransactionColumns();
  for (size_t i = 0; i < cols.size(); ++i) {
    if (cols[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::string FieldList() {
  std::string out;
  for (const std::string& c : TransactionColumns()) out += (out.empty() ? "" : ", ") + c;
  return out;
}

struct Record {
  int64_t line = 0;
  std::string raw;
  std::vector<std::string> fields;
};

// Collects libcsv callbacks into records.
struct Collector {
  std::vector<std::string> fields;
  bool complete = false;
  static void OnField(void* data, size_t len, void* self) {
    static_cast<Collector*>(self)->fields.emplace_back(static_cast<const char*>(data), len);
  }
  static void OnRecord(int, void* self) { static_cast<Collector*>(self)->complete = true; }
};

class CsvReader {
 public:
  explicit CsvReader(std::istream& in) : in_(in) { csv_init(&parser_, CSV_STRICT | CSV_STRICT_FINI); }
  ~CsvReader() { csv_free(&parser_); }
  // Next record, or nullopt at the end. A record with broken quoting is
  // returned with *error set and the parser restarted on the next line.
  std::optional<Record> Next(std::string* error) {
    error->clear();
    Record rec;
    std::string line;
    while (std::getline(in_, line)) {
      ++line_no_;
      if (rec.raw.empty()) rec.line = line_no_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!rec.raw.empty()) rec.raw += '\n';
      rec.raw += line;
      line += '\n';
      size_t n = csv_parse(&parser_, line.data(), line.size(), Collector::OnField, Collector::OnRecord, &c_);
      if (n != line.size()) {
        *error = std::string("CSV quoting: ") + csv_strerror(csv_error(&parser_));
        Restart();
        return rec;
      }
      if (c_.complete) return Take(std::move(rec));
      if (rec.raw.size() == line.size() - 1 && line.size() == 1) rec.raw.clear();  // blank line
    }
    if (csv_fini(&parser_, Collector::OnField, Collector::OnRecord, &c_) != 0) {
      *error = "CSV quoting: unterminated quoted field at end of file";
      Restart();
      return rec;
    }
    if (c_.complete) return Take(std::move(rec));
    return std::nullopt;
  }

 private:
  Record Take(Record rec) {
    rec.fields = std::move(c_.fields);
    c_ = Collector();
    return rec;
  }
  void Restart() {
    csv_free(&parser_);
    csv_init(&parser_, CSV_STRICT | CSV_STRICT_FINI);
    c_ = Collector();
  }
  std::istream& in_;
  csv_parser parser_;
  Collector c_;
  int64_t line_no_ = 0;
};

std::optional<int64_t> ParseInt(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> ParseDouble(const std::string& s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

struct RowError {
  const char* reason;
  std::string detail;
};

// What ParseRow got through before a problem, so a quarantined row still
// carries its id and time (and counts towards its day).
struct Parsed {
  bool id = false, ts = false;
};

// Parses one record into t; the first problem found is returned.
std::optional<RowError> ParseRow(const Record& rec, const std::vector<int>& column_of, Transaction* t,
                                 Parsed* parsed) {
  auto get = [&](Field f) -> const std::string* {
    int c = column_of[f];
    return c < 0 ? nullptr : &rec.fields[static_cast<size_t>(c)];
  };
  auto name = [](Field f) { return TransactionColumns()[f]; };
  auto need_int = [&](Field f, int64_t* out) -> std::optional<RowError> {
    const std::string* v = get(f);
    if (v->empty()) return RowError{reason::kMissingField, name(f) + " is empty"};
    auto parsed = ParseInt(*v);
    if (!parsed) return RowError{reason::kMalformed, fmt::format("{} '{}' is not an integer", name(f), *v)};
    *out = *parsed;
    return std::nullopt;
  };
  if (auto e = need_int(kId, &t->transaction_id)) return e;
  parsed->id = true;
  {
    const std::string* v = get(kTs);
    if (v->empty()) return RowError{reason::kMissingField, "ts is empty"};
    auto ts = ParseTimestamp(*v);
    if (!ts) return RowError{reason::kMalformed, fmt::format("ts '{}' is not a timestamp (ISO 8601 UTC or epoch seconds)", *v)};
    t->ts = *ts;
    parsed->ts = true;
  }
  if (auto e = need_int(kCustomer, &t->customer_id)) return e;
  if (auto e = need_int(kTerminal, &t->terminal_id)) return e;
  {
    const std::string* v = get(kAmount);
    if (v->empty()) return RowError{reason::kMissingAmount, "amount is empty"};
    auto amount = ParseDouble(*v);
    if (!amount) return RowError{reason::kMalformed, fmt::format("amount '{}' is not a number", *v)};
    if (*amount < 0) return RowError{reason::kNegativeAmount, fmt::format("amount {} is negative", *v)};
    t->amount = *amount;
  }
  std::string* texts[] = {&t->currency, &t->channel, &t->merchant_category, &t->country};
  for (Field f : {kCurrency, kChannel, kCategory, kCountry}) {
    std::string* dst = texts[f - kCurrency];
    const std::string* v = get(f);
    if (!v) {
      *dst = "unknown";
    } else if (v->empty()) {
      return RowError{reason::kMissingField, name(f) + " is empty"};
    } else {
      *dst = *v;
    }
  }
  if (const std::string* v = get(kDevice)) t->device_id = *v;
  if (const std::string* v = get(kFraud); v && !v->empty()) {
    if (*v == "1" || *v == "true" || *v == "True" || *v == "TRUE") {
      t->is_fraud = true;
    } else if (!(*v == "0" || *v == "false" || *v == "False" || *v == "FALSE")) {
      return RowError{reason::kMalformed, fmt::format("is_fraud '{}' is not 0/1/true/false", *v)};
    }
  }
  t->scenario = FraudScenario::kNone;
  if (const std::string* v = get(kScenario); v && !v->empty()) {
    auto s = ParseScenario(*v);
    if (!s) return RowError{reason::kMalformed, fmt::format("fraud_scenario '{}' is not a known scenario", *v)};
    t->scenario = *s;
  }
  if (const std::string* v = get(kLabelTs); v && !v->empty()) {
    auto ts = ParseTimestamp(*v);
    if (!ts) return RowError{reason::kMalformed, fmt::format("label_ts '{}' is not a timestamp", *v)};
    t->label_ts = *ts;
  }
  return std::nullopt;
}

}  // namespace

Result<std::map<std::string, std::string>> ParseFieldMap(const std::string& spec) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= spec.size() && !spec.empty()) {
    size_t comma = spec.find(',', start);
    std::string entry = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size())
      return InvalidArgument(fmt::format("--map entry '{}' is not column=field", entry));
    std::string field = entry.substr(eq + 1);
    if (FieldIndex(field) < 0)
      return InvalidArgument(fmt::format("--map entry '{}': '{}' is not a field (fields: {})", entry, field, FieldList()));
    out[entry.substr(0, eq)] = field;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

Result<ImportStats> ImportCsv(storage::Db* db, const std::string& path, const ImportOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open file");
  const int64_t now = options.now ? options.now : static_cast<int64_t>(std::time(nullptr));
  CsvReader reader(in);
  std::string error;
  std::optional<Record> header = reader.Next(&error);
  if (!header) return InvalidArgument(path + ": empty file (expected a header row naming the fields)");
  if (!error.empty()) return InvalidArgument(fmt::format("{}: header row: {}", path, error));

  // Spreadsheet exports often start with a UTF-8 byte-order mark.
  if (!header->fields.empty() && header->fields[0].rfind("\xEF\xBB\xBF", 0) == 0) header->fields[0].erase(0, 3);
  ImportStats stats;
  std::vector<int> column_of(kFieldCount, -1);
  for (size_t c = 0; c < header->fields.size(); ++c) {
    const std::string& col = header->fields[c];
    auto mapped = options.column_to_field.find(col);
    int f = FieldIndex(mapped != options.column_to_field.end() ? mapped->second : col);
    if (f < 0) {
      stats.ignored_columns.push_back(col);
      continue;
    }
    if (column_of[f] >= 0)
      return InvalidArgument(fmt::format("{}: columns '{}' and '{}' both map to field '{}'", path,
                                         header->fields[static_cast<size_t>(column_of[f])], col, TransactionColumns()[f]));
    column_of[f] = static_cast<int>(c);
  }
  for (const auto& [col, field] : options.column_to_field) {
    bool found = false;
    for (const std::string& h : header->fields) found = found || h == col;
    if (!found) return InvalidArgument(fmt::format("{}: --map names column '{}', which the header does not have", path, col));
  }
  for (int f = 0; f < kFieldCount; ++f) {
    if (kRequired[f] && column_of[f] < 0)
      return InvalidArgument(fmt::format("{}: no column for required field '{}' (map one with --map column={})", path,
                                         TransactionColumns()[f], TransactionColumns()[f]));
  }

  std::vector<Transaction> accepted;
  std::vector<QuarantinedRow> quarantined;
  auto quarantine = [&](const Record& rec, const char* why, std::string detail, const Transaction* t,
                        Parsed parsed = {true, true}) {
    QuarantinedRow q{path, rec.line, why, std::move(detail), std::nullopt, std::nullopt, rec.raw};
    if (t && parsed.id) q.transaction_id = t->transaction_id;
    if (t && parsed.ts) q.ts = t->ts;
    quarantined.push_back(std::move(q));
  };
  std::unordered_set<int64_t> seen_ids;
  std::vector<Record> records;  // raw text of accepted rows, for later quarantine decisions
  while (std::optional<Record> rec = reader.Next(&error)) {
    ++stats.rows;
    if (!error.empty()) {
      quarantine(*rec, reason::kMalformed, error, nullptr);
      continue;
    }
    if (rec->fields.size() != header->fields.size()) {
      quarantine(*rec, reason::kMalformed,
                 fmt::format("row has {} fields, header has {}", rec->fields.size(), header->fields.size()), nullptr);
      continue;
    }
    Transaction t;
    Parsed parsed;
    if (auto e = ParseRow(*rec, column_of, &t, &parsed)) {
      quarantine(*rec, e->reason, std::move(e->detail), &t, parsed);
      continue;
    }
    if (t.ts > now + options.future_tolerance_s) {
      quarantine(*rec, reason::kFutureTimestamp,
                 fmt::format("ts {} is after the import time {}", FormatTimestamp(t.ts), FormatTimestamp(now)), &t);
      continue;
    }
    if (!seen_ids.insert(t.transaction_id).second) {
      quarantine(*rec, reason::kDuplicateId, fmt::format("transaction_id {} appears earlier in the file", t.transaction_id),
                 &t);
      continue;
    }
    accepted.push_back(std::move(t));
    records.push_back(std::move(*rec));
  }

  // Ids already stored, and customers the store knows.
  std::unordered_set<int64_t> existing;
  constexpr size_t kChunk = 500;
  for (size_t i = 0; i < accepted.size(); i += kChunk) {
    std::string sql = "SELECT transaction_id FROM transactions WHERE transaction_id IN (";
    for (size_t j = i; j < std::min(accepted.size(), i + kChunk); ++j)
      sql += (j > i ? "," : "") + std::to_string(accepted[j].transaction_id);
    sql += ")";
    LATHE_RETURN_IF_ERROR(db->Query(sql, {}, [&](const storage::DbRow& r) {
      existing.insert(r.Int(0));
      return Status::OK();
    }));
  }
  std::unordered_set<int64_t> customers;
  LATHE_RETURN_IF_ERROR(db->Query("SELECT customer_id FROM customers", {}, [&](const storage::DbRow& r) {
    customers.insert(r.Int(0));
    return Status::OK();
  }));
  std::vector<int64_t> added_customers;
  std::vector<Transaction> keep;
  for (size_t i = 0; i < accepted.size(); ++i) {
    const Transaction& t = accepted[i];
    if (existing.count(t.transaction_id)) {
      quarantine(records[i], reason::kDuplicateId,
                 fmt::format("transaction_id {} is already stored", t.transaction_id), &t);
    } else if (!customers.count(t.customer_id)) {
      if (options.new_customers) {
        customers.insert(t.customer_id);
        added_customers.push_back(t.customer_id);
        keep.push_back(t);
      } else {
        quarantine(records[i], reason::kUnknownCustomer,
                   fmt::format("customer_id {} is not in the customers table (import with --new-customers to add it)",
                               t.customer_id),
                   &t);
      }
    } else {
      keep.push_back(t);
    }
  }

  // New customers, accepted rows and quarantined rows commit together.
  storage::DbTransaction tx(db);
  LATHE_RETURN_IF_ERROR(tx.status());
  if (!added_customers.empty()) {
    LATHE_ASSIGN_OR_RETURN(auto w, db->BulkInsert("customers", {"customer_id"}));
    for (int64_t id : added_customers) {
      w->Int(id);
      LATHE_RETURN_IF_ERROR(w->EndRow());
    }
    LATHE_RETURN_IF_ERROR(w->Finish());
  }
  if (!keep.empty()) {
    LATHE_ASSIGN_OR_RETURN(auto w, db->BulkInsert("transactions", std::vector<std::string>(TransactionColumns().begin(),
                                                                                           TransactionColumns().end())));
    for (const Transaction& t : keep) LATHE_RETURN_IF_ERROR(WriteTransaction(w.get(), t));
    LATHE_RETURN_IF_ERROR(w->Finish());
  }
  LATHE_RETURN_IF_ERROR(WriteQuarantine(db, quarantined, now));
  LATHE_RETURN_IF_ERROR(tx.Commit());
  stats.accepted = static_cast<int64_t>(keep.size());
  stats.new_customers = static_cast<int64_t>(added_customers.size());
  for (const QuarantinedRow& q : quarantined) ++stats.quarantined[q.reason];
  return stats;
}

namespace {
void WriteCsvField(std::ostream& out, std::string_view v) {
  if (v.find_first_of(",\"\n\r") == std::string_view::npos) {
    out << v;
    return;
  }
  std::string buf(v.size() * 2 + 2, '\0');
  buf.resize(csv_write(buf.data(), buf.size(), v.data(), v.size()));
  out << buf;
}
}  // namespace

Result<int64_t> ExportCsv(storage::Db* db, int64_t from_ts, int64_t to_ts, std::ostream& out) {
  const auto& cols = TransactionColumns();
  std::string sql = "SELECT ";
  for (size_t i = 0; i < cols.size(); ++i) {
    out << (i ? "," : "") << cols[i];
    sql += (i ? ", " : "") + cols[i];
  }
  out << '\n';
  sql += " FROM transactions WHERE ts >= $1 AND ts < $2 ORDER BY ts, transaction_id";
  int64_t rows = 0;
  LATHE_RETURN_IF_ERROR(db->Query(sql, {from_ts, to_ts}, [&](const storage::DbRow& r) {
    out << r.Int(kId) << ',' << FormatTimestamp(r.Int(kTs)) << ',' << r.Int(kCustomer) << ',' << r.Int(kTerminal)
        << ',' << fmt::format("{}", r.Double(kAmount));
    for (int c = kCurrency; c <= kDevice; ++c) {
      out << ',';
      if (!r.IsNull(c)) WriteCsvField(out, r.Text(c));
    }
    out << ',' << r.Int(kFraud) << ',';
    WriteCsvField(out, r.Text(kScenario));
    out << ',';
    if (!r.IsNull(kLabelTs)) out << FormatTimestamp(r.Int(kLabelTs));
    out << '\n';
    ++rows;
    return Status::OK();
  }));
  if (!out) return IOError("export: write failed");
  return rows;
}

}  // namespace lathe::ml
