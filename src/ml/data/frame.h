// Frame: a window of a table loaded into typed columns (extraction by time
// window, e.g. one day of transactions for validation and, later, features).
// Text columns are dictionary-encoded so ten million rows of a few distinct
// values stay small. Immutable after LoadWindow; safe to read from many threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db.h"

namespace lathe::ml {

struct FrameColumn {
  enum class Type { kInt, kFloat, kString };
  std::string name;
  Type type = Type::kString;
  std::vector<int64_t> ints;     // kInt
  std::vector<double> floats;    // kFloat
  std::vector<uint32_t> codes;   // kString: index into dict
  std::vector<std::string> dict;  // kString: distinct values in first-seen order
  std::vector<uint8_t> valid;    // 0 = NULL

  size_t size() const { return valid.size(); }
  bool IsNull(size_t i) const { return !valid[i]; }
  // Numeric value of row i (ints widened; strings parse to NaN).
  double Number(size_t i) const;
  // Text of row i (numbers formatted).
  std::string Text(size_t i) const;
};

struct Frame {
  std::vector<FrameColumn> columns;
  size_t rows = 0;
  // nullptr when the frame has no such column.
  const FrameColumn* Find(std::string_view name) const;
};

// Loads `columns` of `table` for rows with from_ts <= ts_column < to_ts
// (seconds), typed from the table's declared columns (Db::Columns). NotFound
// names a missing table or column.
Result<Frame> LoadWindow(storage::Db* db, const std::string& table, const std::vector<std::string>& columns,
                         const std::string& ts_column, int64_t from_ts, int64_t to_ts);

}  // namespace lathe::ml
