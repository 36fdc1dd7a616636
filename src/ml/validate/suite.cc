#include "ml/validate/suite.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "common/file_util.h"

namespace lathe::ml {
namespace {

struct TypeInfo {
  CheckType type;
  const char* name;
  bool needs_column;
  std::set<std::string> keys;  // allowed keys beyond type/name/severity
};

const std::vector<TypeInfo>& Types() {
  static const std::vector<TypeInfo> kTypes = {
      {CheckType::kColumnExists, "column_exists", true, {"column", "dtype"}},
      {CheckType::kNotNull, "not_null", true, {"column", "mostly"}},
      {CheckType::kBetween, "between", true, {"column", "min", "max", "mostly"}},
      {CheckType::kInSet, "in_set", true, {"column", "values", "mostly"}},
      {CheckType::kUnique, "unique", true, {"column"}},
      {CheckType::kRegex, "regex", true, {"column", "pattern", "mostly"}},
      {CheckType::kRowCount, "row_count", false, {"min", "max"}},
      {CheckType::kMeanBetween, "mean_between", true, {"column", "min", "max"}},
      {CheckType::kStddevBetween, "stddev_between", true, {"column", "min", "max"}},
      {CheckType::kFraudRate, "fraud_rate", false, {"min", "max"}},
      {CheckType::kFreshness, "freshness", false, {"max_age"}},
      {CheckType::kQuarantineRate, "quarantine_rate", false, {"max"}},
      {CheckType::kPsi, "psi", true, {"column", "bins", "max"}},
      {CheckType::kKs, "ks", true, {"column", "max"}},
  };
  return kTypes;
}

std::string TypeList() {
  std::string out;
  for (const TypeInfo& t : Types()) out += (out.empty() ? "" : ", ") + std::string(t.name);
  return out;
}

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  Status Error(const std::string& where, const std::string& what) const {
    return InvalidArgument(fmt::format("{}: {}: {}", source_, where, what));
  }

  Result<std::string> String(const YAML::Node& n, const std::string& where, const std::string& key) const {
    if (!n.IsScalar()) return Error(where, "'" + key + "' must be a string");
    return n.as<std::string>();
  }
  template <typename T>
  Result<T> Parse(const YAML::Node& n, const std::string& where, const std::string& key, const char* what) const {
    if (n.IsScalar()) {
      const std::string s = n.as<std::string>();
      T v{};
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && p == s.data() + s.size()) return v;
    }
    return Error(where, "'" + key + "' must be " + what);
  }
  Result<double> Number(const YAML::Node& n, const std::string& where, const std::string& key) const {
    return Parse<double>(n, where, key, "a number");
  }
  Result<int64_t> Integer(const YAML::Node& n, const std::string& where, const std::string& key) const {
    return Parse<int64_t>(n, where, key, "an integer");
  }

  Result<CheckSpec> Check(const YAML::Node& node, size_t index) const {
    std::string where = fmt::format("check {}", index + 1);
    if (!node.IsMap()) return Error(where, "must be a mapping with a 'type'");
    if (!node["type"]) return Error(where, "missing 'type' (one of " + TypeList() + ")");
    LATHE_ASSIGN_OR_RETURN(std::string type_name, String(node["type"], where, "type"));
    const TypeInfo* info = nullptr;
    for (const TypeInfo& t : Types()) {
      if (type_name == t.name) info = &t;
    }
    if (!info) return Error(where, "unknown check type '" + type_name + "' (one of " + TypeList() + ")");
    where += " (" + type_name + ")";
    CheckSpec spec;
    spec.type = info->type;
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      if (key == "type" || key == "name" || key == "severity" || info->keys.count(key)) continue;
      std::string allowed = "type, name, severity";
      for (const std::string& k : info->keys) allowed += ", " + k;
      return Error(where, "unknown key '" + key + "' (allowed: " + allowed + ")");
    }
    if (info->needs_column) {
      if (!node["column"]) return Error(where, "missing 'column'");
      LATHE_ASSIGN_OR_RETURN(spec.column, String(node["column"], where, "column"));
    }
    if (node["severity"]) {
      LATHE_ASSIGN_OR_RETURN(std::string sev, String(node["severity"], where, "severity"));
      if (sev == "warn") {
        spec.severity = Severity::kWarn;
      } else if (sev != "fail") {
        return Error(where, "severity '" + sev + "' must be warn or fail");
      }
    }
    if (node["min"]) {
      LATHE_ASSIGN_OR_RETURN(double v, Number(node["min"], where, "min"));
      spec.min = v;
    }
    if (node["max"]) {
      LATHE_ASSIGN_OR_RETURN(double v, Number(node["max"], where, "max"));
      spec.max = v;
    }
    if (spec.min && spec.max && *spec.min > *spec.max) return Error(where, "'min' is greater than 'max'");
    if (node["mostly"]) {
      LATHE_ASSIGN_OR_RETURN(spec.mostly, Number(node["mostly"], where, "mostly"));
      if (spec.mostly < 0 || spec.mostly > 1) return Error(where, "'mostly' must be between 0 and 1");
    }
    if (node["dtype"]) {
      LATHE_ASSIGN_OR_RETURN(spec.dtype, String(node["dtype"], where, "dtype"));
      if (spec.dtype != "int" && spec.dtype != "float" && spec.dtype != "string")
        return Error(where, "dtype '" + spec.dtype + "' must be int, float or string");
    }
    switch (spec.type) {
      case CheckType::kInSet: {
        const YAML::Node v = node["values"];
        if (!v || !v.IsSequence() || v.size() == 0) return Error(where, "'values' must be a non-empty list");
        for (const auto& item : v) {
          LATHE_ASSIGN_OR_RETURN(std::string s, String(item, where, "values"));
          spec.values.push_back(std::move(s));
        }
        break;
      }
      case CheckType::kRegex: {
        if (!node["pattern"]) return Error(where, "missing 'pattern'");
        LATHE_ASSIGN_OR_RETURN(spec.pattern, String(node["pattern"], where, "pattern"));
        try {
          std::regex re(spec.pattern);
        } catch (const std::regex_error& e) {
          return Error(where, "pattern '" + spec.pattern + "' is not a valid regular expression (" + e.what() + ")");
        }
        break;
      }
      case CheckType::kFreshness: {
        if (!node["max_age"]) return Error(where, "missing 'max_age' (e.g. 36h)");
        LATHE_ASSIGN_OR_RETURN(std::string age, String(node["max_age"], where, "max_age"));
        auto s = ParseDuration(age);
        if (!s) return Error(where, "max_age '" + age + "' is not a duration (e.g. 90s, 15m, 36h, 2d)");
        spec.max_age_s = *s;
        break;
      }
      case CheckType::kPsi:
        if (node["bins"]) {
          LATHE_ASSIGN_OR_RETURN(int64_t b, Integer(node["bins"], where, "bins"));
          if (b < 2 || b > 100) return Error(where, "'bins' must be between 2 and 100");
          spec.bins = static_cast<int>(b);
        }
        [[fallthrough]];
      case CheckType::kKs:
      case CheckType::kQuarantineRate:
        if (!spec.max) return Error(where, "missing 'max' (the threshold)");
        break;
      case CheckType::kBetween:
      case CheckType::kRowCount:
      case CheckType::kMeanBetween:
      case CheckType::kStddevBetween:
      case CheckType::kFraudRate:
        if (!spec.min && !spec.max) return Error(where, "needs 'min', 'max' or both");
        break;
      default: break;
    }
    spec.name = spec.column.empty() ? type_name : type_name + "(" + spec.column + ")";
    if (node["name"]) {
      LATHE_ASSIGN_OR_RETURN(spec.name, String(node["name"], where, "name"));
    }
    return spec;
  }

 private:
  std::string source_;
};

}  // namespace

const char* SeverityName(Severity s) { return s == Severity::kWarn ? "warn" : "fail"; }

const char* CheckTypeName(CheckType t) {
  for (const TypeInfo& info : Types()) {
    if (info.type == t) return info.name;
  }
  return "?";
}

std::optional<int64_t> ParseDuration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  int64_t unit = 1;
  std::string digits = text;
  switch (text.back()) {
    case 's': unit = 1; digits.pop_back(); break;
    case 'm': unit = 60; digits.pop_back(); break;
    case 'h': unit = 3600; digits.pop_back(); break;
    case 'd': unit = 86400; digits.pop_back(); break;
    default: break;
  }
  int64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() || v < 0) return std::nullopt;
  return v * unit;
}

Result<Suite> ParseSuite(const std::string& yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}: not valid YAML: {}", source, e.what()));
  }
  Parser p(source);
  if (!root.IsMap()) return p.Error("top level", "must be a mapping with 'suite' and 'checks'");
  static const std::set<std::string> kTopKeys = {"suite", "table", "timestamp_column", "label_column",
                                                 "reference_days", "checks"};
  Suite suite;
  try {
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      if (!kTopKeys.count(key))
        return p.Error("top level", "unknown key '" + key +
                                        "' (allowed: suite, table, timestamp_column, label_column, reference_days, checks)");
    }
    if (!root["suite"]) return p.Error("top level", "missing 'suite' (the suite's name)");
    LATHE_ASSIGN_OR_RETURN(suite.name, p.String(root["suite"], "top level", "suite"));
    if (suite.name.empty() || suite.name.find_first_of("/\\ ") != std::string::npos || suite.name[0] == '.')
      return p.Error("top level", "suite name '" + suite.name + "' must be non-empty without spaces or slashes");
    for (auto [key, dst] : {std::pair{"table", &suite.table}, std::pair{"timestamp_column", &suite.timestamp_column},
                            std::pair{"label_column", &suite.label_column}}) {
      if (root[key]) {
        LATHE_ASSIGN_OR_RETURN(*dst, p.String(root[key], "top level", key));
      }
    }
    for (const std::string* ident : {&suite.table, &suite.timestamp_column, &suite.label_column}) {
      if (!std::regex_match(*ident, std::regex("[A-Za-z_][A-Za-z0-9_]*")))
        return p.Error("top level", "'" + *ident + "' is not a plain SQL identifier");
    }
    if (root["reference_days"]) {
      LATHE_ASSIGN_OR_RETURN(int64_t d, p.Integer(root["reference_days"], "top level", "reference_days"));
      if (d < 1 || d > 3650) return p.Error("top level", "'reference_days' must be between 1 and 3650");
      suite.reference_days = static_cast<int>(d);
    }
    const YAML::Node checks = root["checks"];
    if (!checks || !checks.IsSequence() || checks.size() == 0)
      return p.Error("top level", "'checks' must be a non-empty list");
    std::set<std::string> names;
    for (size_t i = 0; i < checks.size(); ++i) {
      LATHE_ASSIGN_OR_RETURN(CheckSpec spec, p.Check(checks[i], i));
      if (!std::regex_match(spec.column, std::regex("[A-Za-z_][A-Za-z0-9_]*|")))
        return p.Error(fmt::format("check {}", i + 1), "column '" + spec.column + "' is not a plain SQL identifier");
      if (!names.insert(spec.name).second)
        return p.Error(fmt::format("check {}", i + 1), "duplicate check name '" + spec.name + "' (set 'name')");
      suite.checks.push_back(std::move(spec));
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}: {}", source, e.what()));
  }
  return suite;
}

Result<Suite> LoadSuite(const std::string& path) {
  auto text = ReadFile(path, 1 << 20);
  if (!text.ok()) return NotFound(path + ": cannot read suite (" + text.status().message() + ")");
  return ParseSuite(*text, path);
}

}  // namespace lathe::ml
