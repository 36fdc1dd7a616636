#include "pipeline/cron.h"

#include <cctype>
#include <ctime>
#include <map>
#include <sstream>
#include <vector>

namespace lathe::pipeline {
namespace {

const char* kFieldNames[] = {"minute", "hour", "day of month", "month", "day of week"};

int NameValue(int field, const std::string& token) {
  static const std::map<std::string, int> kMonths = {{"jan", 1}, {"feb", 2}, {"mar", 3}, {"apr", 4},
                                                     {"may", 5}, {"jun", 6}, {"jul", 7}, {"aug", 8},
                                                     {"sep", 9}, {"oct", 10}, {"nov", 11}, {"dec", 12}};
  static const std::map<std::string, int> kDays = {{"sun", 0}, {"mon", 1}, {"tue", 2}, {"wed", 3},
                                                   {"thu", 4}, {"fri", 5}, {"sat", 6}};
  std::string lower;
  for (char c : token) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto& names = field == 3 ? kMonths : kDays;
  auto it = names.find(lower);
  return (field == 3 || field == 4) && it != names.end() ? it->second : -1;
}

// Parses a number or a name; -1 when it is neither.
int Value(int field, const std::string& token) {
  if (token.empty() || token.size() > 4) return -1;
  bool digits = true;
  for (char c : token) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  return digits ? std::stoi(token) : NameValue(field, token);
}

Status ParseField(int field, const std::string& text, int lo, int hi, std::vector<bool>* out, bool* any) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("cron " + std::string(kFieldNames[field]) + " field '" + text + "': " + why);
  };
  out->assign(static_cast<size_t>(hi + 1), false);
  *any = text == "*";
  std::stringstream parts(text);
  std::string part;
  if (text.empty()) return bad("empty");
  while (std::getline(parts, part, ',')) {
    if (part.empty()) return bad("empty list item");
    int step = 1;
    std::string range = part;
    if (size_t slash = part.find('/'); slash != std::string::npos) {
      range = part.substr(0, slash);
      step = Value(-1, part.substr(slash + 1));
      if (step <= 0) return bad("step '" + part.substr(slash + 1) + "' is not a positive number");
    }
    int a, b;
    if (range == "*") {
      a = lo;
      b = hi;
    } else if (size_t dash = range.find('-'); dash != std::string::npos) {
      a = Value(field, range.substr(0, dash));
      b = Value(field, range.substr(dash + 1));
      if (a < 0 || b < 0) return bad("'" + range + "' is not a range of numbers");
      if (a > b) return bad("range '" + range + "' runs backwards");
    } else {
      a = Value(field, range);
      if (a < 0) return bad("'" + range + "' is not a number");
      b = part.find('/') != std::string::npos ? hi : a;
    }
    if (a < lo || b > hi)
      return bad(std::to_string(a < lo ? a : b) + " is outside " + std::to_string(lo) + "-" + std::to_string(hi));
    for (int v = a; v <= b; v += step) (*out)[static_cast<size_t>(v)] = true;
  }
  return Status::OK();
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(const std::string& expr) {
  static const std::map<std::string, std::string> kMacros = {{"@hourly", "0 * * * *"},
                                                             {"@daily", "0 0 * * *"},
                                                             {"@midnight", "0 0 * * *"},
                                                             {"@weekly", "0 0 * * 0"},
                                                             {"@monthly", "0 0 1 * *"},
                                                             {"@yearly", "0 0 1 1 *"},
                                                             {"@annually", "0 0 1 1 *"}};
  std::string text = expr;
  if (!text.empty() && text[0] == '@') {
    auto it = kMacros.find(text);
    if (it == kMacros.end()) return InvalidArgument("cron '" + expr + "': unknown macro (use @hourly, @daily, @weekly, @monthly or @yearly)");
    text = it->second;
  }
  std::vector<std::string> fields;
  std::stringstream in(text);
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != 5)
    return InvalidArgument("cron '" + expr + "': expected 5 fields (minute hour day-of-month month day-of-week), got " +
                           std::to_string(fields.size()));
  CronSchedule s;
  s.text_ = expr;
  const int lo[] = {0, 0, 1, 1, 0}, hi[] = {59, 23, 31, 12, 7};
  std::vector<bool> bits[5];
  bool any[5];
  for (int i = 0; i < 5; ++i) {
    Status st = ParseField(i, fields[static_cast<size_t>(i)], lo[i], hi[i], &bits[i], &any[i]);
    if (!st.ok()) return InvalidArgument("cron '" + expr + "': " + st.message().substr(5));
  }
  for (int v = 0; v < 60; ++v) s.minutes_[static_cast<size_t>(v)] = bits[0][static_cast<size_t>(v)];
  for (int v = 0; v < 24; ++v) s.hours_[static_cast<size_t>(v)] = bits[1][static_cast<size_t>(v)];
  for (int v = 1; v <= 31; ++v) s.days_[static_cast<size_t>(v)] = bits[2][static_cast<size_t>(v)];
  for (int v = 1; v <= 12; ++v) s.months_[static_cast<size_t>(v)] = bits[3][static_cast<size_t>(v)];
  for (int v = 0; v <= 7; ++v)
    if (bits[4][static_cast<size_t>(v)]) s.weekdays_[static_cast<size_t>(v % 7)] = true;
  s.any_day_ = any[2];
  s.any_weekday_ = any[4];
  return s;
}

int64_t CronSchedule::Next(int64_t after) const {
  int64_t t = (after / 60 + 1) * 60;
  if (after < 0 && after % 60 != 0) t = (after / 60) * 60;
  const int64_t limit = after + int64_t{5} * 366 * 86400;
  while (t <= limit) {
    time_t tt = static_cast<time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    if (!months_[static_cast<size_t>(tm.tm_mon + 1)]) {
      // Jump to the first minute of the next month.
      tm.tm_mon += 1;
      tm.tm_mday = 1;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
      t = static_cast<int64_t>(timegm(&tm));
      continue;
    }
    // Vixie cron: when both day fields are restricted, either may match.
    bool dom = days_[static_cast<size_t>(tm.tm_mday)], dow = weekdays_[static_cast<size_t>(tm.tm_wday)];
    bool day_ok = any_day_ && any_weekday_ ? true : any_day_ ? dow : any_weekday_ ? dom : (dom || dow);
    if (!day_ok) {
      t = (t / 86400 + 1) * 86400;
      continue;
    }
    if (!hours_[static_cast<size_t>(tm.tm_hour)]) {
      t = (t / 3600 + 1) * 3600;
      continue;
    }
    if (!minutes_[static_cast<size_t>(tm.tm_min)]) {
      t += 60;
      continue;
    }
    return t;
  }
  return -1;
}

}  // namespace lathe::pipeline
