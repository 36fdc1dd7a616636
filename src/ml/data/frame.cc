#include "ml/data/frame.h"

#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include <fmt/format.h>

namespace lathe::ml {

double FrameColumn::Number(size_t i) const {
  switch (type) {
    case Type::kInt: return static_cast<double>(ints[i]);
    case Type::kFloat: return floats[i];
    case Type::kString: {
      const std::string& s = dict[codes[i]];
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      return end == s.c_str() + s.size() && !s.empty() ? v : std::nan("");
    }
  }
  return std::nan("");
}

std::string FrameColumn::Text(size_t i) const {
  switch (type) {
    case Type::kInt: return std::to_string(ints[i]);
    case Type::kFloat: return fmt::format("{}", floats[i]);
    case Type::kString: return dict[codes[i]];
  }
  return {};
}

const FrameColumn* Frame::Find(std::string_view name) const {
  for (const FrameColumn& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Result<Frame> LoadWindow(storage::Db* db, const std::string& table, const std::vector<std::string>& columns,
                         const std::string& ts_column, int64_t from_ts, int64_t to_ts) {
  LATHE_ASSIGN_OR_RETURN(std::vector<storage::DbColumn> declared, db->Columns(table));
  auto find = [&](const std::string& name) -> const storage::DbColumn* {
    for (const storage::DbColumn& c : declared) {
      if (c.name == name) return &c;
    }
    return nullptr;
  };
  if (!find(ts_column)) return NotFound(fmt::format("table '{}' has no column '{}'", table, ts_column));
  Frame frame;
  std::string sql = "SELECT ";
  for (size_t i = 0; i < columns.size(); ++i) {
    const storage::DbColumn* c = find(columns[i]);
    if (!c) return NotFound(fmt::format("table '{}' has no column '{}'", table, columns[i]));
    FrameColumn fc;
    fc.name = c->name;
    fc.type = c->type == "int" ? FrameColumn::Type::kInt
              : c->type == "float" ? FrameColumn::Type::kFloat
                                   : FrameColumn::Type::kString;
    frame.columns.push_back(std::move(fc));
    sql += (i ? ", " : "") + c->name;
  }
  if (columns.empty()) sql += "1";
  sql += fmt::format(" FROM {} WHERE {} >= $1 AND {} < $2", table, ts_column, ts_column);
  std::vector<std::unordered_map<std::string, uint32_t>> dicts(frame.columns.size());
  LATHE_RETURN_IF_ERROR(db->Query(sql, {from_ts, to_ts}, [&](const storage::DbRow& r) {
    for (size_t i = 0; i < frame.columns.size(); ++i) {
      FrameColumn& c = frame.columns[i];
      int col = static_cast<int>(i);
      bool null = r.IsNull(col);
      c.valid.push_back(null ? 0 : 1);
      switch (c.type) {
        case FrameColumn::Type::kInt: c.ints.push_back(null ? 0 : r.Int(col)); break;
        case FrameColumn::Type::kFloat: c.floats.push_back(null ? 0.0 : r.Double(col)); break;
        case FrameColumn::Type::kString: {
          std::string_view text = null ? std::string_view() : r.Text(col);
          auto [it, inserted] = dicts[i].try_emplace(std::string(text), static_cast<uint32_t>(c.dict.size()));
          if (inserted) c.dict.emplace_back(text);
          c.codes.push_back(it->second);
          break;
        }
      }
    }
    ++frame.rows;
    return Status::OK();
  }));
  return frame;
}

}  // namespace lathe::ml
