#include "ml/data/transaction.h"

#include <charconv>
#include <ctime>
#include <fmt/format.h>

namespace lathe::ml {

namespace {
constexpr std::array<std::string_view, kScenarioCount> kScenarioNames = {
    "none", "large_amount", "compromised_terminal", "compromised_customer", "card_testing", "account_takeover"};

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's algorithm.
int64_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<int64_t>(era) * 146097 + doe - 719468;
}

bool ValidDate(int y, int m, int d) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap);
}

std::optional<int64_t> ParseDate(std::string_view s) {
  int y, m, d;
  if (s.size() < 10 || !Digits(s, 0, 4, &y) || s[4] != '-' || !Digits(s, 5, 2, &m) || s[7] != '-' ||
      !Digits(s, 8, 2, &d) || !ValidDate(y, m, d))
    return std::nullopt;
  return DaysFromCivil(y, m, d) * kSecondsPerDay;
}
}  // namespace

std::string_view ScenarioName(FraudScenario s) { return kScenarioNames[static_cast<size_t>(s)]; }

std::optional<FraudScenario> ParseScenario(std::string_view name) {
  for (size_t i = 0; i < kScenarioNames.size(); ++i) {
    if (kScenarioNames[i] == name) return static_cast<FraudScenario>(i);
  }
  return std::nullopt;
}

const std::array<std::string, 13>& TransactionColumns() {
  static const std::array<std::string, 13> kColumns = {
      "transaction_id", "ts",      "customer_id", "terminal_id", "amount",         "currency", "channel",
      "merchant_category", "country", "device_id",  "is_fraud",    "fraud_scenario", "label_ts"};
  return kColumns;
}

Status WriteTransaction(storage::BulkWriter* w, const Transaction& t) {
  w->Int(t.transaction_id);
  w->Int(t.ts);
  w->Int(t.customer_id);
  w->Int(t.terminal_id);
  w->Double(t.amount);
  w->Text(t.currency);
  w->Text(t.channel);
  w->Text(t.merchant_category);
  w->Text(t.country);
  if (t.device_id.empty()) {
    w->Null();
  } else {
    w->Text(t.device_id);
  }
  w->Int(t.is_fraud ? 1 : 0);
  w->Text(ScenarioName(t.scenario));
  if (t.label_ts == 0) {
    w->Null();
  } else {
    w->Int(t.label_ts);
  }
  return w->EndRow();
}

Result<int64_t> ParseDay(std::string_view day) {
  std::optional<int64_t> ts = day.size() == 10 ? ParseDate(day) : std::nullopt;
  if (!ts) return InvalidArgument("'" + std::string(day) + "' is not a date (expected YYYY-MM-DD)");
  return *ts;
}

std::string FormatDay(int64_t ts) { return FormatTimestamp(ts).substr(0, 10); }

std::string FormatTimestamp(int64_t ts) {
  std::time_t t = static_cast<std::time_t>(ts);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::optional<int64_t> ParseTimestamp(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s.find('-', 1) == std::string_view::npos) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
  }
  std::optional<int64_t> day = ParseDate(s);
  if (!day) return std::nullopt;
  if (s.size() == 10) return day;
  int h, mi, se;
  if (s.size() < 19 || (s[10] != 'T' && s[10] != ' ') || !Digits(s, 11, 2, &h) || s[13] != ':' ||
      !Digits(s, 14, 2, &mi) || s[16] != ':' || !Digits(s, 17, 2, &se) || h > 23 || mi > 59 || se > 60)
    return std::nullopt;
  std::string_view rest = s.substr(19);
  if (!(rest.empty() || rest == "Z" || rest == "+00:00")) return std::nullopt;
  return *day + h * 3600 + mi * 60 + se;
}

}  // namespace lathe::ml
