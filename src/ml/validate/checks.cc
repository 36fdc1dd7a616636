#include "ml/validate/checks.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ml/data/transaction.h"
#include "ml/validate/drift.h"

namespace lathe::ml {
namespace {

std::string Num(double v) { return fmt::format("{:.6g}", v); }

std::string RangeText(const CheckSpec& s) {
  if (s.min && s.max) return fmt::format("between {} and {}", Num(*s.min), Num(*s.max));
  if (s.min) return fmt::format("at least {}", Num(*s.min));
  return fmt::format("at most {}", Num(*s.max));
}

bool InRange(double v, const CheckSpec& s) {
  return !std::isnan(v) && (!s.min || v >= *s.min) && (!s.max || v <= *s.max);
}

std::string MostlyText(const CheckSpec& s) {
  return s.mostly >= 1 ? "every non-null value" : fmt::format("at least {:.4g}% of non-null values", s.mostly * 100);
}

// Numeric, non-null values of a column (or of the derived hour of day).
// Empty result with *error set when the column is missing or not numeric.
std::vector<double> Numbers(const Frame& f, const std::string& column, const std::string& ts_column,
                            std::string* error) {
  std::vector<double> out;
  bool hour = column == kHourOfDay;
  const FrameColumn* c = f.Find(hour ? ts_column : column);
  if (!c) {
    *error = fmt::format("column '{}' is not in the data", hour ? ts_column : column);
    return out;
  }
  if (c->type == FrameColumn::Type::kString) {
    *error = fmt::format("column '{}' holds text, not numbers", column);
    return out;
  }
  out.reserve(c->size());
  for (size_t i = 0; i < c->size(); ++i) {
    if (c->IsNull(i)) continue;
    double v = c->Number(i);
    out.push_back(hour ? static_cast<double>((static_cast<int64_t>(v) % kSecondsPerDay + kSecondsPerDay) %
                                             kSecondsPerDay / 3600)
                       : v);
  }
  return out;
}

// Share-of-values checks (between, in_set, regex): test each non-null value,
// collect up to five offending examples with counts.
template <typename Pred>
void ShareCheck(const FrameColumn& c, const CheckSpec& spec, Pred pass, CheckResult* r) {
  int64_t non_null = 0, bad = 0;
  std::map<std::string, int64_t> examples;
  if (c.type == FrameColumn::Type::kString) {
    // Decide once per distinct value.
    std::vector<int8_t> verdict(c.dict.size(), -1);
    for (size_t i = 0; i < c.size(); ++i) {
      if (c.IsNull(i)) continue;
      ++non_null;
      int8_t& v = verdict[c.codes[i]];
      if (v < 0) v = pass(c, i) ? 1 : 0;
      if (!v) {
        ++bad;
        if (examples.size() < 5 || examples.count(c.dict[c.codes[i]])) examples[c.dict[c.codes[i]]]++;
      }
    }
  } else {
    for (size_t i = 0; i < c.size(); ++i) {
      if (c.IsNull(i)) continue;
      ++non_null;
      if (!pass(c, i)) {
        ++bad;
        std::string t = c.Text(i);
        if (examples.size() < 5 || examples.count(t)) examples[t]++;
      }
    }
  }
  double share = non_null ? static_cast<double>(non_null - bad) / static_cast<double>(non_null) : 1.0;
  r->observed = share;
  r->status = share >= spec.mostly ? CheckStatus::kPassed : CheckStatus::kFailed;
  r->detail = fmt::format("{} of {} non-null values fail", bad, non_null);
  if (!examples.empty()) {
    std::string ex;
    for (const auto& [v, n] : examples) ex += fmt::format("{}'{}' x{}", ex.empty() ? "" : ", ", v, n);
    r->detail += "; e.g. " + ex;
  }
}

void Fail(CheckResult* r, std::string why) {
  r->status = CheckStatus::kFailed;
  r->observed = nullptr;
  r->detail = std::move(why);
}

}  // namespace

const char* CheckStatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kPassed: return "passed";
    case CheckStatus::kFailed: return "failed";
    case CheckStatus::kSkipped: return "skipped";
  }
  return "?";
}

CheckResult RunCheck(const CheckSpec& spec, const CheckInput& in) {
  CheckResult r;
  r.name = spec.name;
  r.type = spec.type;
  r.column = spec.column;
  r.severity = spec.severity;
  r.min = spec.min;
  r.max = spec.max;
  const Frame& cur = *in.current;
  const FrameColumn* col = spec.column.empty() || spec.column == kHourOfDay ? nullptr : cur.Find(spec.column);
  auto need_column = [&]() {
    if (col) return true;
    Fail(&r, fmt::format("column '{}' does not exist in the table", spec.column));
    return false;
  };

  switch (spec.type) {
    case CheckType::kColumnExists: {
      r.expected = spec.dtype.empty() ? "column exists" : "column exists with type " + spec.dtype;
      const storage::DbColumn* found = nullptr;
      for (const storage::DbColumn& c : *in.table_columns) {
        if (c.name == spec.column) found = &c;
      }
      if (!found) {
        Fail(&r, fmt::format("no column '{}'", spec.column));
        r.observed = "missing";
        break;
      }
      r.observed = found->type;
      r.status = spec.dtype.empty() || spec.dtype == found->type ? CheckStatus::kPassed : CheckStatus::kFailed;
      r.detail = fmt::format("declared {}", found->declared);
      break;
    }
    case CheckType::kNotNull: {
      r.expected = spec.mostly >= 1 ? "no NULLs" : fmt::format("at least {:.4g}% non-null", spec.mostly * 100);
      if (!need_column()) break;
      int64_t nulls = 0;
      for (uint8_t v : col->valid) nulls += !v;
      double share = cur.rows ? static_cast<double>(static_cast<int64_t>(cur.rows) - nulls) / static_cast<double>(cur.rows) : 1.0;
      r.observed = share;
      r.status = share >= spec.mostly ? CheckStatus::kPassed : CheckStatus::kFailed;
      r.detail = fmt::format("{} of {} rows are NULL", nulls, cur.rows);
      break;
    }
    case CheckType::kBetween: {
      r.expected = MostlyText(spec) + " " + RangeText(spec);
      if (!need_column()) break;
      if (col->type == FrameColumn::Type::kString) {
        Fail(&r, fmt::format("column '{}' holds text, not numbers", spec.column));
        break;
      }
      ShareCheck(*col, spec, [&](const FrameColumn& c, size_t i) { return InRange(c.Number(i), spec); }, &r);
      break;
    }
    case CheckType::kInSet: {
      std::string set;
      for (const std::string& v : spec.values) set += (set.empty() ? "" : ", ") + v;
      r.expected = MostlyText(spec) + " in {" + set + "}";
      if (!need_column()) break;
      std::unordered_set<std::string> allowed(spec.values.begin(), spec.values.end());
      ShareCheck(*col, spec, [&](const FrameColumn& c, size_t i) { return allowed.count(c.Text(i)) > 0; }, &r);
      break;
    }
    case CheckType::kRegex: {
      r.expected = MostlyText(spec) + " matching /" + spec.pattern + "/";
      if (!need_column()) break;
      std::regex re(spec.pattern);  // validated when the suite was parsed
      ShareCheck(*col, spec, [&](const FrameColumn& c, size_t i) { return std::regex_match(c.Text(i), re); }, &r);
      break;
    }
    case CheckType::kUnique: {
      r.expected = "no duplicate values";
      if (!need_column()) break;
      int64_t dups = 0;
      std::vector<std::string> examples;
      if (col->type == FrameColumn::Type::kString) {
        std::vector<uint8_t> seen(col->dict.size(), 0);
        for (size_t i = 0; i < col->size(); ++i) {
          if (col->IsNull(i)) continue;
          if (seen[col->codes[i]]++) {
            ++dups;
            if (examples.size() < 5) examples.push_back(col->dict[col->codes[i]]);
          }
        }
      } else {
        std::vector<double> vals;
        std::vector<int64_t> ints;
        for (size_t i = 0; i < col->size(); ++i) {
          if (col->IsNull(i)) continue;
          if (col->type == FrameColumn::Type::kInt) {
            ints.push_back(col->ints[i]);
          } else {
            vals.push_back(col->floats[i]);
          }
        }
        auto count = [&](auto& v) {
          std::sort(v.begin(), v.end());
          for (size_t i = 1; i < v.size(); ++i) {
            if (v[i] == v[i - 1]) {
              ++dups;
              if (examples.size() < 5) examples.push_back(fmt::format("{}", v[i]));
            }
          }
        };
        count(ints);
        count(vals);
      }
      r.observed = dups;
      r.status = dups == 0 ? CheckStatus::kPassed : CheckStatus::kFailed;
      r.detail = fmt::format("{} duplicate values", dups);
      if (!examples.empty()) r.detail += "; e.g. " + fmt::format("{}", fmt::join(examples, ", "));
      break;
    }
    case CheckType::kRowCount: {
      r.expected = "row count " + RangeText(spec);
      r.observed = static_cast<int64_t>(cur.rows);
      r.status = InRange(static_cast<double>(cur.rows), spec) ? CheckStatus::kPassed : CheckStatus::kFailed;
      r.detail = fmt::format("{} rows", cur.rows);
      break;
    }
    case CheckType::kMeanBetween:
    case CheckType::kStddevBetween:
    case CheckType::kFraudRate: {
      bool fraud = spec.type == CheckType::kFraudRate;
      bool mean = spec.type != CheckType::kStddevBetween;
      r.expected = (fraud ? "fraud rate " : mean ? "mean " : "standard deviation ") + RangeText(spec);
      std::string error;
      std::vector<double> xs = Numbers(cur, fraud ? in.label_column : spec.column, in.timestamp_column, &error);
      if (!error.empty()) {
        Fail(&r, error);
        break;
      }
      if (xs.size() < (mean ? 1u : 2u)) {
        Fail(&r, fmt::format("{} values: too few to measure", xs.size()));
        break;
      }
      double sum = 0;
      for (double x : xs) sum += x;
      double m = sum / static_cast<double>(xs.size());
      double v = m;
      if (!mean) {
        double ss = 0;
        for (double x : xs) ss += (x - m) * (x - m);
        v = std::sqrt(ss / static_cast<double>(xs.size() - 1));
      }
      r.observed = v;
      r.status = InRange(v, spec) ? CheckStatus::kPassed : CheckStatus::kFailed;
      r.detail = fmt::format("over {} values", xs.size());
      break;
    }
    case CheckType::kFreshness: {
      r.expected = fmt::format("newest row at most {} s older than {}", spec.max_age_s, FormatTimestamp(in.as_of));
      const FrameColumn* ts = cur.Find(in.timestamp_column);
      int64_t newest = INT64_MIN;
      if (ts) {
        for (size_t i = 0; i < ts->size(); ++i) {
          if (!ts->IsNull(i)) newest = std::max(newest, static_cast<int64_t>(ts->Number(i)));
        }
      }
      if (newest == INT64_MIN) {
        Fail(&r, "no rows, so no newest timestamp");
        break;
      }
      int64_t age = in.as_of - newest;
      r.observed = age;
      r.status = age <= spec.max_age_s ? CheckStatus::kPassed : CheckStatus::kFailed;
      r.detail = fmt::format("newest {} is {} s old", FormatTimestamp(newest), age);
      break;
    }
    case CheckType::kQuarantineRate: {
      r.expected = fmt::format("at most {:.4g}% of the day's rows quarantined", *spec.max * 100);
      double total = static_cast<double>(cur.rows) + static_cast<double>(in.quarantined);
      double share = total > 0 ? static_cast<double>(in.quarantined) / total : 0.0;
      r.observed = share;
      r.status = share <= *spec.max ? CheckStatus::kPassed : CheckStatus::kFailed;
      r.detail = fmt::format("{} quarantined, {} accepted", in.quarantined, cur.rows);
      break;
    }
    case CheckType::kPsi:
    case CheckType::kKs: {
      bool psi = spec.type == CheckType::kPsi;
      r.expected = fmt::format("{} against the reference window {}", psi ? "PSI" : "KS statistic", RangeText(spec));
      std::string error;
      std::vector<double> now = Numbers(cur, spec.column, in.timestamp_column, &error);
      std::vector<double> ref = error.empty() ? Numbers(*in.reference, spec.column, in.timestamp_column, &error)
                                              : std::vector<double>();
      if (!error.empty()) {
        Fail(&r, error);
        break;
      }
      if (now.empty()) {
        Fail(&r, "no values on the day");
        break;
      }
      if (ref.empty()) {
        r.status = CheckStatus::kSkipped;
        r.observed = nullptr;
        r.detail = "the reference window holds no rows";
        break;
      }
      double stat;
      if (psi) {
        PsiResult p = PopulationStabilityIndex(ref, now, spec.bins);
        stat = p.psi;
        r.chart = {{"kind", "histogram"}, {"edges", p.edges}, {"reference", p.reference}, {"current", p.current}};
      } else {
        KsResult k = KolmogorovSmirnov(ref, now);
        stat = k.statistic;
        r.chart = {{"kind", "ecdf"}, {"x", k.xs}, {"reference", k.reference_cdf}, {"current", k.current_cdf},
                   {"at", k.at}};
      }
      r.observed = stat;
      r.status = InRange(stat, spec) ? CheckStatus::kPassed : CheckStatus::kFailed;
      r.detail = fmt::format("{} values on the day, {} in the reference window", now.size(), ref.size());
      break;
    }
  }
  return r;
}

}  // namespace lathe::ml
