#include "pipeline/template.h"

#include <cctype>
#include <ctime>

namespace lathe::pipeline {

Result<int64_t> ParseDate(const std::string& ds) {
  auto bad = [&] { return InvalidArgument("date '" + ds + "' is not a valid YYYY-MM-DD day"); };
  if (ds.size() != 10 || ds[4] != '-' || ds[7] != '-') return bad();
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isdigit(static_cast<unsigned char>(ds[i]))) return bad();
  std::tm tm{};
  tm.tm_year = std::stoi(ds.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(ds.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(ds.substr(8, 2));
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_year < 0) return bad();
  int64_t t = static_cast<int64_t>(timegm(&tm));
  if (FormatDate(t) != ds) return bad();  // 2026-02-30 and the like
  return t;
}

std::string FormatDate(int64_t unix_seconds) {
  time_t tt = static_cast<time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

namespace {

std::string NoDash(const std::string& ds) {
  std::string out;
  for (char c : ds)
    if (c != '-') out += c;
  return out;
}

Result<std::string> Lookup(const std::string& name, const TemplateVars& v) {
  if (name == "dag_id") return v.dag_id;
  if (name == "run_id") return v.run_id;
  if (name == "task_id") return v.task_id;
  if (name == "data_dir") return v.data_dir;
  bool nodash = false;
  std::string rest = name;
  if (rest.rfind("ds_nodash", 0) == 0) {
    nodash = true;
    rest = rest.substr(9);
  } else if (rest.rfind("ds", 0) == 0) {
    rest = rest.substr(2);
  } else {
    return InvalidArgument("unknown template variable '" + name + "'");
  }
  int sign = 0;
  if (rest.empty()) {
    sign = 1;
  } else if (rest.rfind("_minus_", 0) == 0) {
    sign = -1;
    rest = rest.substr(7);
  } else if (rest.rfind("_plus_", 0) == 0) {
    sign = 1;
    rest = rest.substr(6);
  } else {
    return InvalidArgument("unknown template variable '" + name + "'");
  }
  int days = 0;
  if (name != "ds" && name != "ds_nodash") {
    if (rest.empty() || rest.size() > 4) return InvalidArgument("template variable '" + name + "': days must be 0-3650");
    for (char c : rest)
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return InvalidArgument("template variable '" + name + "': '" + rest + "' is not a number of days");
    days = std::stoi(rest);
    if (days > 3650) return InvalidArgument("template variable '" + name + "': days must be 0-3650");
  }
  auto day = ParseDate(v.ds);
  if (!day.ok()) return day.status();
  std::string ds = FormatDate(*day + int64_t{sign} * days * 86400);
  return nodash ? NoDash(ds) : ds;
}

}  // namespace

Result<std::string> RenderTemplate(const std::string& text, const TemplateVars& vars) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("{{", pos);
    if (open == std::string::npos) {
      out += text.substr(pos);
      return out;
    }
    out += text.substr(pos, open - pos);
    size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) return InvalidArgument("unclosed '{{' in '" + text + "'");
    std::string name = text.substr(open + 2, close - open - 2);
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front()))) name.erase(0, 1);
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
    auto value = Lookup(name, vars);
    if (!value.ok()) return InvalidArgument(value.status().message() + " in '" + text + "'");
    out += *value;
    pos = close + 2;
  }
}

Result<nlohmann::json> RenderParams(const nlohmann::json& params, const TemplateVars& vars) {
  if (params.is_string()) {
    auto s = RenderTemplate(params.get<std::string>(), vars);
    if (!s.ok()) return s.status();
    return nlohmann::json(*s);
  }
  if (params.is_object() || params.is_array()) {
    nlohmann::json out = params;
    for (auto it = out.begin(); it != out.end(); ++it) {
      auto v = RenderParams(*it, vars);
      if (!v.ok()) {
        std::string where = params.is_object() ? it.key() : "";
        return where.empty() ? v.status() : InvalidArgument(where + ": " + v.status().message());
      }
      *it = std::move(v).value();
    }
    return out;
  }
  return params;
}

}  // namespace lathe::pipeline
