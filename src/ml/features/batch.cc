#include "ml/features/batch.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "ml/features/feature_math.h"

namespace lathe::ml {
namespace {

namespace fm = features_math;

// Rows grouped by a key, each group's rows in ascending row order (CSR).
struct Groups {
  std::vector<uint32_t> offsets;  // groups + 1
  std::vector<uint32_t> rows;
  size_t size() const { return offsets.size() - 1; }
};

Groups GroupBy(const std::vector<int64_t>& key_of_row) {
  std::unordered_map<int64_t, uint32_t> index;
  std::vector<uint32_t> group(key_of_row.size());
  std::vector<uint32_t> counts;
  for (size_t r = 0; r < key_of_row.size(); ++r) {
    auto [it, added] = index.emplace(key_of_row[r], static_cast<uint32_t>(counts.size()));
    if (added) counts.push_back(0);
    group[r] = it->second;
    ++counts[it->second];
  }
  Groups g;
  g.offsets.assign(counts.size() + 1, 0);
  for (size_t i = 0; i < counts.size(); ++i) g.offsets[i + 1] = g.offsets[i] + counts[i];
  g.rows.resize(key_of_row.size());
  std::vector<uint32_t> next(g.offsets.begin(), g.offsets.end() - 1);
  for (size_t r = 0; r < key_of_row.size(); ++r) g.rows[next[group[r]]++] = static_cast<uint32_t>(r);
  return g;
}

// The input's columns permuted into (ts, id) order.
struct Sorted {
  std::vector<int64_t> id, ts, customer, terminal, label_ts;
  std::vector<double> amount;
  std::vector<int32_t> device;
  std::vector<uint8_t> fraud;
};

// First index in [0, end) of the ascending ts[rows[.]] whose ts > bound.
size_t FirstAfter(const std::vector<int64_t>& ts, const uint32_t* rows, size_t end, int64_t bound) {
  return std::upper_bound(rows, rows + end, bound, [&](int64_t b, uint32_t r) { return b < ts[r]; }) - rows;
}

void CustomerGroup(const FeatureSpec& spec, const Sorted& s, const uint32_t* rows, size_t n, float* out, size_t cols) {
  std::unordered_set<int64_t> terminals;
  std::unordered_set<int32_t> devices;
  auto amount = [&](uint32_t r) { return s.amount[r]; };
  for (size_t k = 0; k < n; ++k) {
    const uint32_t r = rows[k];
    const int64_t t = s.ts[r];
    float* row = out + static_cast<size_t>(r) * cols;
    for (size_t c = 0; c < cols; ++c) {
      const FeatureDef& f = spec.features[c];
      if (!IsCustomerKind(f.kind)) continue;
      const size_t lo = f.window_s > 0 ? FirstAfter(s.ts, rows, k + 1, t - f.window_s) : 0;
      const double count = static_cast<double>(k + 1 - lo);
      switch (f.kind) {
        case FeatureKind::kCustomerCount:
          row[c] = static_cast<float>(count);
          break;
        case FeatureKind::kCustomerSum:
          row[c] = static_cast<float>(fm::Sum(rows + lo, rows + k + 1, amount));
          break;
        case FeatureKind::kCustomerMean:
          row[c] = static_cast<float>(fm::Sum(rows + lo, rows + k + 1, amount) / count);
          break;
        case FeatureKind::kAmountZscore:
          row[c] = fm::Zscore(s.amount[r], rows + lo, rows + k, amount, f.missing);
          break;
        case FeatureKind::kTimeSincePrevious:
          row[c] = k == 0 ? f.missing : static_cast<float>(t - s.ts[rows[k - 1]]);
          break;
        case FeatureKind::kTxPerHour:
          row[c] = fm::Rate(count, f.window_s);
          break;
        case FeatureKind::kFirstTerminal:
          row[c] = terminals.count(s.terminal[r]) ? 0.0f : 1.0f;
          break;
        case FeatureKind::kFirstDevice:
          row[c] = s.device[r] >= 0 && !devices.count(s.device[r]) ? 1.0f : 0.0f;
          break;
        default:
          break;
      }
    }
    terminals.insert(s.terminal[r]);
    if (s.device[r] >= 0) devices.insert(s.device[r]);
  }
}

void TerminalGroup(const FeatureSpec& spec, const Sorted& s, const uint32_t* rows, size_t n, float* out, size_t cols) {
  for (size_t k = 0; k < n; ++k) {
    const uint32_t r = rows[k];
    const int64_t t = s.ts[r];
    float* row = out + static_cast<size_t>(r) * cols;
    for (size_t c = 0; c < cols; ++c) {
      const FeatureDef& f = spec.features[c];
      if (!IsTerminalKind(f.kind)) continue;
      // Earlier transactions only (rows before k), with ts in (t-D-W, t-D].
      const size_t hi = FirstAfter(s.ts, rows, k, t - f.delay_s);
      const size_t lo = FirstAfter(s.ts, rows, hi, t - f.delay_s - f.window_s);
      if (f.kind == FeatureKind::kTerminalCount) {
        row[c] = static_cast<float>(hi - lo);
        continue;
      }
      int64_t frauds = 0;
      for (size_t j = lo; j < hi; ++j) {
        const uint32_t q = rows[j];
        frauds += s.fraud[q] && s.label_ts[q] != 0 && s.label_ts[q] <= t;
      }
      row[c] = fm::Risk(frauds, static_cast<int64_t>(hi - lo), f.missing);
    }
  }
}

void ForEachGroup(CpuPool* pool, const Groups& g, const std::function<void(const uint32_t*, size_t)>& fn) {
  auto one = [&](size_t i) { fn(g.rows.data() + g.offsets[i], g.offsets[i + 1] - g.offsets[i]); };
  if (pool) {
    pool->ParallelFor(g.size(), one, 64);
  } else {
    for (size_t i = 0; i < g.size(); ++i) one(i);
  }
}

}  // namespace

Result<FeatureMatrix> ComputeBatch(const FeatureSpec& spec, const FeatureInput& in, CpuPool* pool) {
  const size_t n = in.size();
  if (n > UINT32_MAX) return InvalidArgument(fmt::format("feature input: {} rows is more than 2^32", n));
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return in.ts[a] != in.ts[b] ? in.ts[a] < in.ts[b] : in.transaction_id[a] < in.transaction_id[b];
  });
  Sorted s;
  auto permute = [&](auto& dst, const auto& src) {
    dst.resize(n);
    for (size_t i = 0; i < n; ++i) dst[i] = src[order[i]];
  };
  permute(s.id, in.transaction_id);
  permute(s.ts, in.ts);
  permute(s.customer, in.customer_id);
  permute(s.terminal, in.terminal_id);
  permute(s.label_ts, in.label_ts);
  permute(s.amount, in.amount);
  permute(s.device, in.device);
  permute(s.fraud, in.is_fraud);
  for (size_t i = 1; i < n; ++i)
    if (s.ts[i] == s.ts[i - 1] && s.id[i] == s.id[i - 1])
      return InvalidArgument(fmt::format("feature input: transaction {} appears twice at ts {}", s.id[i], s.ts[i]));

  FeatureMatrix m;
  m.names = spec.Names();
  m.rows = n;
  m.cols = spec.features.size();
  m.values.assign(n * m.cols, 0.0f);
  m.ts = s.ts;
  m.transaction_id = s.id;
  m.label_ts = s.label_ts;
  m.labels.resize(n);
  for (size_t i = 0; i < n; ++i) {
    m.labels[i] = s.fraud[i];
    for (size_t c = 0; c < m.cols; ++c) {
      const FeatureDef& f = spec.features[c];
      if (!IsCustomerKind(f.kind) && !IsTerminalKind(f.kind))
        m.values[i * m.cols + c] = features_math::RowFeature(f, s.ts[i], s.amount[i]);
    }
  }
  const bool any_customer = std::any_of(spec.features.begin(), spec.features.end(),
                                        [](const FeatureDef& f) { return IsCustomerKind(f.kind); });
  const bool any_terminal = std::any_of(spec.features.begin(), spec.features.end(),
                                        [](const FeatureDef& f) { return IsTerminalKind(f.kind); });
  // Each group writes only its own rows, so groups run in parallel without
  // locks and the result does not depend on the schedule.
  if (any_customer) {
    Groups g = GroupBy(s.customer);
    ForEachGroup(pool, g, [&](const uint32_t* rows, size_t count) {
      CustomerGroup(spec, s, rows, count, m.values.data(), m.cols);
    });
  }
  if (any_terminal) {
    Groups g = GroupBy(s.terminal);
    ForEachGroup(pool, g, [&](const uint32_t* rows, size_t count) {
      TerminalGroup(spec, s, rows, count, m.values.data(), m.cols);
    });
  }
  return m;
}

}  // namespace lathe::ml
